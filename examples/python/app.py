"""The demo's objects from Python: the namespace, the API workload, its Canary with the
Linkerd metric checks, the load tester's webhook and the load generator.

examples/typescript/src/demo-objects.ts builds the same objects with the same props;
examples/run.sh compares the two syntheses object for object.

Usage: python app.py <outdir>
"""
import sys

from cdk8s import App, Chart
from cdk8s_canary import (
    Canary,
    CanaryTarget,
    LinkerdMetricTemplates,
    LoadGenerator,
    LoadTester,
    MeshNamespace,
    PodSecurityLevel,
)

app = App(outdir=sys.argv[1])

namespace_chart = Chart(app, "testapi-namespace")
MeshNamespace(namespace_chart, "Namespace", name="testapi", pod_security=PodSecurityLevel.RESTRICTED)

chart = Chart(app, "testapi", namespace="testapi")
chart.add_dependency(namespace_chart)
api = CanaryTarget(chart, "Api", name="api", image="cyrilbkr/testapp", version="2.0", port=3000)
templates = LinkerdMetricTemplates(chart, "MetricTemplates")
tester = LoadTester(chart, "LoadTester")
canary = Canary(
    chart,
    "Canary",
    target=api,
    metrics=[templates.success_rate(min=99), templates.client_errors(max=1), templates.latency_p99(max_ms=500)],
)
tester.add_load_test(canary, qps=10, concurrency=2)
LoadGenerator(chart, "LoadGenerator", canary=canary, qps=10)

app.synth()
