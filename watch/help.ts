/** Help texts; `program` is `canary-watch`, or `kubectl canary` when run as the kubectl plugin. */
import type { Command } from './args';

const COMMON = `Flags of every command:
  -n, --namespace <ns>       namespace of the Canary (default: the context's, else "default")
      --kubeconfig <file>    kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
      --context <name>       kubeconfig context
      --request-timeout <d>  timeout of each API read: seconds or a Go duration (5s, 1m);
                             0 means none (default 15s)
      --no-color             no colors (NO_COLOR is honoured too)
  -h, --help                 help (of a command: canary-watch <command> --help)
      --version              the version`;

export function topHelp(program: string): string {
  return `Usage: ${program} <command> <canary> [flags]
       ${program} <canary> [flags]          (the same as: ${program} watch <canary>)

The CLI of Flagger Canaries: CI waits, status with metric values, promotion and rollback gates.

Commands:
  watch    follow the Canary until its rollout ends; exit with the verdict
  status   one look: phase, weight, failed checks, metric values, last events;
           exit code by state
  get      a detailed view (-w: live on a terminal, plain lines otherwise)
  promote  open the load tester's promotion gate (confirm-promotion webhook)
  abort    open the load tester's rollback gate (rollback webhook): Flagger rolls back
  report   a picture of a rollout as a self-contained HTML page (from a live watch,
           or from recorded NDJSON with --from)

${COMMON}

Exit codes: 0 expectation met (status: promoted or initialized), 1 the other outcome
(status: rolled back), 2 timed out (status: still in analysis), 3 usage, kubeconfig,
permission or not-found error, or an answer that is not the Kubernetes API,
4 superseded: a newer revision replaced the watched one mid-analysis.`;
}

const COMMAND_HELP: Record<Command, (program: string) => string> = {
  watch: (p) => `Usage: ${p} watch <canary> [flags]

Follows the Canary until the rollout of the watched revision ends and exits with the
verdict. The watched revision is the target Deployment's pod template when the watch
starts (or, with --image, the first template that runs that image): a rollout of any
other revision never counts, and one that replaces the watched revision mid-analysis
ends the watch as "superseded" (exit 4).

  --expect <outcome>   succeeded (default) | failed | initialized | any
  --timeout <d>        give up after this Go duration (90s, 10m, 1h30m; 0 waits forever;
                       default: derived from the Canary's analysis settings)
  --image <ref>        judge the rollout of the pod template that runs this image
  --include-running    also count a rollout of the watched revision already in progress
  --since <when>       also count a rollout in progress at start if it began at or after
                       <when>: a time (2026-01-02T15:04:05Z) or a duration before now (2m)
  --current            judge the current state: an outcome reached before the start counts
  --metrics            read each metric check's value every analysis interval (needs get
                       on metrictemplates and services/proxy on the metrics Service)
  --metrics-server <url>
                       with --metrics: Flagger's -metrics-server, where it runs built-in
                       and inline-query checks (a Canary's spec.metricsServer wins)
  -o, --output <fmt>   text (default) | json (NDJSON records, the last one the verdict)

${COMMON}

Exit codes: 0 expectation met, 1 the other outcome happened, 2 timed out, 3 usage,
kubeconfig, permission or not-found error, or an answer that is not the Kubernetes
API (an HTML page, malformed JSON, another kind), 4 superseded.`,
  status: (p) => `Usage: ${p} status <canary> [flags]

One look at the Canary: phase, canary weight, failed checks, each metric check's value
(the Canary's own MetricTemplate queries, run through the API server's service proxy),
webhooks and the last events.

  -o, --output <fmt>   text (default) | json
      --metrics-server <url>
                       Flagger's -metrics-server, where it runs built-in and
                       inline-query checks (a Canary's spec.metricsServer wins)

${COMMON}

Exit codes: 0 promoted or initialized, 1 rolled back (Failed), 2 in analysis or waiting,
3 error.`,
  get: (p) => `Usage: ${p} get <canary> [flags]

A detailed view of the Canary: phase, weight, each metric check with its latest value
and threshold, webhooks, recent events.

  -w, --watch          keep it live (redrawn on a terminal, plain lines otherwise)
      --timeout <d>    with --watch, stop after this Go duration (0: until interrupted)
      --metrics-server <url>
                       Flagger's -metrics-server, where it runs built-in and
                       inline-query checks (a Canary's spec.metricsServer wins)

${COMMON}`,
  promote: (p) => `Usage: ${p} promote <canary> [flags]

Opens the promotion gate of the Canary's load tester (POST /gate/open, read by a
confirm-promotion webhook on /gate/check), through the API server's service proxy: only
Kubernetes credentials are needed (create on services/proxy for the load tester's Service).
Refuses a Canary without such a gate, or one that is not in analysis.

      --gate <name>    the webhook to open when the Canary has several

${COMMON}`,
  abort: (p) => `Usage: ${p} abort <canary> [flags]

Opens the rollback gate of the Canary's load tester (POST /rollback/open, read by a
rollback webhook on /rollback/check): Flagger rolls the canary back at its next check.
Refuses a Canary without such a gate, or one that is not in analysis.

      --gate <name>    the webhook to open when the Canary has several

${COMMON}`,
  report: (p) => `Usage: ${p} report <canary> [flags] --out report.html
       ${p} report --from records.ndjson --out report.html

Draws a rollout as a self-contained HTML page with SVG charts: canary weight and each
metric's value over time, phase bands, the verdict. Live: watches like "watch" (with
metric values) and writes the page when the rollout ends. --from renders the NDJSON
records of "watch -o json" (or - for stdin).

      --out <file>     where to write the page (default: stdout)
      --title <text>   the page's title
      (and the flags of "watch")

${COMMON}`,
};

export function commandHelp(command: Command, program: string): string {
  return COMMAND_HELP[command](program);
}
