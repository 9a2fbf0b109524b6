import { compileFile } from "./dist/compiler/pipeline.js";
const MIB=1024*1024;
const t="x-limawan: |\n"+"  x\n".repeat(Math.floor((MIB-20)/4));
for (let k=0;k<4;k++){const s=performance.now(); const c0=process.cpuUsage(); compileFile({vm:"v",file:"f",text:t}); const c=process.cpuUsage(c0); console.log((performance.now()-s).toFixed(0), "cpu", ((c.user+c.system)/1000).toFixed(0));}
