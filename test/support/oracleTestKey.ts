import { readFileSync } from 'node:fs';

/**
 * Oracle's published 1024-bit test key (oracle/oci-go-sdk common/http_signer_test.go `testPrivateKey`,
 * also in OCI's "Request Signatures" documentation): the key behind the signer test vectors. Test data only.
 */
export const ORACLE_TEST_PRIVATE_KEY = readFileSync(new URL('../fixtures/oracle-test-key.pem', import.meta.url), 'utf8').trim();
