// Builds a BPF object for the collector benchmarks with the flags of bpf/Makefile (CO-RE,
// x86, the repository's vmlinux.h and bpf/include), plus `defines`. Throws with clang's
// output when the build fails.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export function buildBpfObject(root: string, src: string, out: string, defines: string[] = []): string {
  const r = spawnSync('clang', ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I', join(root, 'bpf'), '-I', join(root, 'bpf/include'),
    '-Wall', '-Wno-unused-function', '-Wno-address-of-packed-member', '-fno-stack-protector', ...defines, '-c', src, '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`clang ${src}: ${r.stderr}`);
  return out;
}
