export const GUEST_FS: string;
export const UBUNTU_SSHD_CONFIG: string;
export function guestFsRoot(instanceDir: string): string;
export function hostPath(root: string, guestPath: string): string | null;
export function readGuestFile(root: string, guestPath: string): string | null;
