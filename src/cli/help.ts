export const HELP_TEXT = `credential-provider-oke: kubelet image credential provider for OCIR (Oracle Cloud Infrastructure Registry)

Usage:
  credential-provider-oke [-config FILE]          the kubelet plugin: CredentialProviderRequest on stdin,
                                                  CredentialProviderResponse on stdout
  credential-provider-oke get-credentials IMAGE   print the response for IMAGE (e.g. fra.ocir.io/ns/repo)
        [--api-version v1|v1beta1|v1alpha1]
  credential-provider-oke doctor [IMAGE]          check this node: kubelet flags, executable, kubelet config,
                                                  settings, IMDS, matchImages, identity, docker token and,
                                                  with IMAGE, that the token can read it; a PASS/WARN/FAIL/SKIP
                                                  line per check on stdout with the fix; exit 1 if any failed
        [--json]                                  --json: {"status", "checks": [{name, status, message, fix}]}
  credential-provider-oke install [--host-root DIR] [--bin-dir DIR] [--kubelet-config PATH]
        [--executable FILE] [--config-source FILE] [--rollback] [--adopt] [--watch DURATION]
                                                  put this executable and the kubelet config on the node
                                                  atomically, keeping the previous one (--rollback puts
                                                  it back); --adopt: take over files it did not write
                                                  once they prove ours (an older cloud-init's); --watch:
                                                  stay up, re-install and log doctor's checks as JSON
                                                  every DURATION (the DaemonSet)
  credential-provider-oke --version | --help

Flags:
  -config, --config FILE   settings as YAML (otherwise from the environment)
  --log-level LEVEL        error, warn (default), info or debug; -v means debug
                           logs go to stderr; never to stdout, never a secret

Doctor flags (paths are node paths; the kubelet's own flags are the defaults):
  --bin-dir DIR            the kubelet's --image-credential-provider-bin-dir
                           (default: the running kubelet's, else /etc/kubernetes/credential-provider/bin)
  --kubelet-config PATH    the kubelet's --image-credential-provider-config, a file or directory
                           (default: the running kubelet's, else /etc/kubernetes/credential-provider/config.yaml)
  --provider-name NAME     providers[].name and executable name (default credential-provider-oke)
  --proc-dir DIR           where to find the running kubelet (default /proc)
  --root DIR               read every node path above under DIR (an inspected image, tests)
  -config FILE             the provider settings to check (default: the -config in the kubelet config's
                           args, else the environment plus the kubelet config's env, as the kubelet runs it)

Settings (YAML key / environment variable, default):
  registryTokenPath / REGISTRY_TOKEN_PATH   /20180419/docker/token
  defaultUser       / DEFAULT_USER          BEARER_TOKEN
  registryProtocol  / REGISTRY_PROTOCOL     https
  ocirAuthMethod    / OCIR_AUTH_METHOD      INSTANCE_PRINCIPAL (or USER_PRINCIPAL: ~/.oci/config;
                                            RESOURCE_PRINCIPAL: OCI_RESOURCE_PRINCIPAL_* v2.2)
  tokenValidation   / TOKEN_VALIDATION      disabled (enabled: check the token can read the repository)
  registryHosts     / REGISTRY_HOSTS        extra registry host patterns allowed to receive signed requests
  realmDomains      / REALM_DOMAINS         extra realm domains (dedicated regions, Alloy)
  execTimeout       / EXEC_TIMEOUT          50s (the kubelet kills the plugin at 60s)
  logLevel          / LOG_LEVEL             warn
  logFile           / LOG_FILE              none (absolute path; created 0600)
  credentialCacheDir / CREDENTIAL_CACHE_DIR /var/lib/kubelet/credential-provider-oke (none: no shared cache)
  workloadIdentityEndpoint / WORKLOAD_IDENTITY_ENDPOINT  https://$KUBERNETES_SERVICE_HOST:12250 (OKE proxymux)
  workloadIdentityCaFile   / WORKLOAD_IDENTITY_CA_FILE   none (cluster CA, PEM; required for workload identity)
  serviceAccountFallback   / SERVICE_ACCOUNT_FALLBACK    node (or none: no credentials for pods that did not opt in)
`;
