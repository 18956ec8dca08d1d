"""The operations docs and the Grafana dashboard describe exactly the metrics CONTORL exports."""

import json
import re
from pathlib import Path

from prometheus_client import Counter, Histogram

from contorl import metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DEFINED = {
    collector._name: collector
    for collector in vars(metrics).values()
    if isinstance(collector, (Counter, Histogram)) or type(collector).__name__ == "Gauge"
}


def exported_names(name: str, collector) -> set[str]:
    if isinstance(collector, Counter):
        return {f"{name}_total"}
    if isinstance(collector, Histogram):
        return {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return {name}


def test_readme_explains_every_metric():
    readme = (DEPLOY / "README.md").read_text()
    documented = set(re.findall(r"^\| `(contorl_\w+)` \|", readme, flags=re.M))
    expected = {f"{name}_total" if isinstance(c, Counter) else name for name, c in DEFINED.items()}
    assert documented == expected


def test_dashboard_uses_only_real_metrics_and_shows_each():
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    used = set(re.findall(r"\b(contorl_\w+)", " ".join(exprs)))
    exported = set().union(*(exported_names(name, c) for name, c in DEFINED.items()))
    assert used <= exported, used - exported
    for name, collector in DEFINED.items():
        assert used & exported_names(name, collector), f"no panel shows {name}"
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_env_example_names_every_operations_variable():
    example = (DEPLOY / "contorl.env.example").read_text()
    for variable in (
        "LDAP_SERVER_URI",
        "LDAP_GROUP_MAP",
        "STORAGE_URL",
        "S3_ENDPOINT_URL",
        "METRICS_TOKEN",
        "METRICS_ALLOW_IPS",
        "PROMETHEUS_MULTIPROC_DIR",
        "S3_DOWNLOADS",
    ):
        assert variable in example
