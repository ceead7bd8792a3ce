import { readKubeletConfig } from '../kubeletConfig/read.ts';
import { validateKubeletConfig, type Finding, type ProviderEntry } from '../kubeletConfig/validate.ts';
import type { NodeFs } from '../nodeFs.ts';
import { fail, type Outcome } from '../types.ts';

const NAME = 'kubelet config';

/** Reads and validates the CredentialProviderConfig; the value is our provider's entry. */
export async function checkKubeletConfig(fs: NodeFs, path: string, providerName: string): Promise<Outcome<ProviderEntry>> {
  const files = await readKubeletConfig(fs, path);
  if (!Array.isArray(files)) {
    return fail(NAME, files.problem, `install deploy/credential-provider-config.yaml as ${path}; the kubelet refuses to start without it`);
  }
  const verdict = validateKubeletConfig(files, providerName);
  const fails = verdict.findings.filter((f) => f.level === 'fail');
  const warns = verdict.findings.filter((f) => f.level === 'warn');
  if (fails.length > 0 || verdict.provider === undefined) return fail(NAME, joinText(fails), joinFixes(fails));
  const p = verdict.provider;
  const summary =
    `${p.file}: provider ${providerName}, ${p.apiVersion}, defaultCacheDuration ${p.defaultCacheDuration}, ` +
    `${p.matchImages.length} matchImages${p.env.length > 0 ? `, env ${p.env.map((e) => e.name).join(',')}` : ''}`;
  if (warns.length === 0) return { result: { name: NAME, status: 'pass', detail: summary }, value: p };
  return { result: { name: NAME, status: 'warn', detail: `${summary}; ${joinText(warns)}`, fix: joinFixes(warns) }, value: p };
}

const joinText = (findings: readonly Finding[]): string => findings.map((f) => f.text).join('; ');
const joinFixes = (findings: readonly Finding[]): string => [...new Set(findings.map((f) => f.fix))].join('; ');
