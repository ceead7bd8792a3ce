export const HELP_TEXT = `credential-provider-oke: kubelet image credential provider for OCIR (Oracle Cloud Infrastructure Registry)

Usage:
  credential-provider-oke [-config FILE]          the kubelet plugin: CredentialProviderRequest on stdin,
                                                  CredentialProviderResponse on stdout
  credential-provider-oke get-credentials IMAGE   print the response for IMAGE (e.g. fra.ocir.io/ns/repo)
        [--api-version v1|v1beta1|v1alpha1]
  credential-provider-oke --version | --help

Flags:
  -config, --config FILE   settings as YAML (otherwise from the environment)
  --log-level LEVEL        error, warn (default), info or debug; -v means debug
                           logs go to stderr; never to stdout, never a secret

Settings (YAML key / environment variable, default):
  registryTokenPath / REGISTRY_TOKEN_PATH   /20180419/docker/token
  defaultUser       / DEFAULT_USER          BEARER_TOKEN
  registryProtocol  / REGISTRY_PROTOCOL     https
  ocirAuthMethod    / OCIR_AUTH_METHOD      INSTANCE_PRINCIPAL (or USER_PRINCIPAL: ~/.oci/config)
  tokenValidation   / TOKEN_VALIDATION      disabled (enabled: check the token can read the repository)
  registryHosts     / REGISTRY_HOSTS        extra registry host patterns allowed to receive signed requests
  realmDomains      / REALM_DOMAINS         extra realm domains (dedicated regions, Alloy)
  execTimeout       / EXEC_TIMEOUT          50s (the kubelet kills the plugin at 60s)
  logLevel          / LOG_LEVEL             warn
  logFile           / LOG_FILE              none (absolute path; created 0600)
`;
