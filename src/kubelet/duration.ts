/**
 * Go `time.Duration.String()` for whole seconds. The kubelet decodes `cacheDuration` with
 * `time.ParseDuration` (`apimachinery/pkg/apis/meta/v1/duration.go`) and Kubernetes itself writes
 * durations in this form (`"5m0s"`, `"1h0m0s"`), so emitting exactly it keeps the response
 * readable next to the kubelet's own logs and config.
 */

const SECOND_MS = 1000;
const MINUTE_S = 60;
const HOUR_S = 3600;

/**
 * The largest whole number of seconds a Go `time.Duration` (int64 nanoseconds) holds:
 * 2562047h47m16s. Anything longer would overflow `time.ParseDuration` and make the kubelet
 * reject the whole response, so longer inputs are clamped to it.
 */
export const MAX_GO_DURATION_SECONDS = 9_223_372_036;

/**
 * Formats `ms` like Go's `time.Duration.String()` after flooring to whole seconds: `"0s"`,
 * `"45s"`, `"59m0s"`, `"1h0m0s"`, `"25h0m0s"` (Go has no day unit, so hours grow without bound).
 * Negative, zero, sub-second and NaN inputs give `"0s"` (the kubelet's "do not cache");
 * +Infinity and values above {@link MAX_GO_DURATION_SECONDS} are clamped to that maximum.
 */
export function formatGoDuration(ms: number): string {
  if (Number.isNaN(ms) || ms < SECOND_MS) return '0s';
  const total = Math.min(Math.floor(ms / SECOND_MS), MAX_GO_DURATION_SECONDS);
  const hours = Math.floor(total / HOUR_S);
  const minutes = Math.floor((total % HOUR_S) / MINUTE_S);
  const seconds = total % MINUTE_S;
  // Go prints the larger units only when the value reaches them, and then every smaller unit.
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
