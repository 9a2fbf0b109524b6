// The syntax tree produced by grammar/limawan.peggy, with spans already mapped to lima.yaml.
import type { Span } from "./diagnostic.js";

export interface NumberToken { text: string; value: number; span: Span }
export interface WordToken { text: string; span: Span }
export interface ProtocolToken { text: "tcp" | "udp" | "tcp+udp"; span: Span }

export interface PortSpecNode {
  from: NumberToken;
  to: NumberToken | null;
  protocol: ProtocolToken | null;
  span: Span;
}

export type OptionNode =
  | { kind: "from"; sources: WordToken[]; span: Span }
  | { kind: "on"; names: WordToken[]; span: Span }
  | { kind: "limit"; count: NumberToken; seconds: { amount: NumberToken; unit: string; span: Span }; span: Span }
  | { kind: "max"; count: NumberToken; span: Span }
  | { kind: "log"; span: Span }
  | { kind: "router"; upnp: boolean; span: Span }
  | { kind: "upnp"; span: Span }
  | { kind: "unknown-option"; word: string; span: Span };

export interface ExposeNode {
  kind: "expose";
  name: WordToken | null;
  guest: PortSpecNode | null;
  host: PortSpecNode;
  options: OptionNode[];
  span: Span;
}

export type StatementNode =
  | ExposeNode
  | { kind: "interface"; names: WordToken[]; span: Span }
  | { kind: "allow-privileged"; span: Span }
  | { kind: "allow-routed"; span: Span }
  | { kind: "allow-from"; sources: WordToken[]; span: Span }
  | { kind: "unknown"; word: string; span: Span };
