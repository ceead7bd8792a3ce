/**
 * The main job on an embedded default: start the local OCI emulator (IMDS, auth service, OCIR),
 * run the provider exactly as the kubelet would (a separate process, a CredentialProviderRequest on
 * stdin, a bare environment), and show what it answered and that the registry accepts the token.
 *
 *   npm run demo                 # the source, under Bun
 *   PROVIDER_BIN=dist/credential-provider-oke-linux-amd64 npm run demo   # the shipped executable
 */
import { startEmulator } from '../test/emulator/index.ts';
import { validateKubeletResponse } from '../test/support/kubeletResponse.ts';
import { kubeletRequest, providerCommand, runProvider } from '../test/support/runProvider.ts';

const emulator = await startEmulator();
let exitCode = 0;
try {
  const image = `${emulator.registryHost}/${emulator.namespace}/app`;
  const request = kubeletRequest(image);
  const env = { ...emulator.env(), TOKEN_VALIDATION: 'enabled' };
  const { command, prefix } = providerCommand();

  console.log('Local OCI emulator');
  for (const [k, v] of Object.entries(env)) console.log(`  ${k}=${v}`);
  console.log(`\nProvider: ${[command, ...prefix].join(' ')}`);
  console.log(`Request on stdin:\n  ${request.trim()}`);

  const started = performance.now();
  const result = await runProvider({ env, stdin: request });
  const elapsedMs = performance.now() - started;

  if (result.status !== 0) {
    console.log(`\nThe provider failed (exit ${result.status}):\n${result.stderr}`);
    exitCode = 1;
  } else {
    const response = JSON.parse(result.stdout) as { auth: Record<string, { username: string; password: string }> };
    const password = response.auth[emulator.registryHost]?.password ?? '';
    // The emulator's token is not a secret, but shown shortened all the same: habits matter.
    const shown = result.stdout.replace(password, `${password.slice(0, 16)}…(${password.length} chars)`);
    console.log(`\nResponse on stdout (${elapsedMs.toFixed(0)} ms, exit 0):\n${JSON.stringify(JSON.parse(shown), null, 2)}`);
    const verdict = validateKubeletResponse(result.stdout, 'credentialprovider.kubelet.k8s.io/v1');
    console.log(`\nThe kubelet's strict decoder would ${verdict.ok ? 'accept' : `REJECT (${verdict.reason})`} it.`);
    const pull = await fetch(`http://${emulator.registryHost}/v2/${emulator.namespace}/app/manifests/1.0`, {
      headers: { authorization: `Bearer ${password}` },
    });
    console.log(`The registry answers GET /v2/${emulator.namespace}/app/manifests/1.0 with the token: ${pull.status}.`);
    console.log(
      `Upstream calls: IMDS ${['imds.cert', 'imds.key', 'imds.intermediate', 'imds.region'].reduce((n, e) => n + emulator.calls(e as 'imds.cert'), 0)}, federation ${emulator.calls('auth.x509')}, docker token ${emulator.calls('ocir.token')}, manifest check ${emulator.calls('ocir.manifest')}.`,
    );
    if (!verdict.ok || pull.status !== 200) exitCode = 1;
  }
} finally {
  await emulator.stop();
}
process.exit(exitCode);
