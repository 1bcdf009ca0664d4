"""Cloud Monitoring dashboards v1 (monitoring.v1.json): `projects.dashboards`.

Stored under state["resources"]["monitoring.v1"]["dashboards"]: {dashboard name: the Dashboard as Google returns it}.
Shapes follow a real recording (k8s-config-connector's monitoringdashboard log, kept as
tests/fixtures/google/monitoring_dashboard_create.json): the caller may name the dashboard in the body
(`projects/{p}/dashboards/{id}`), else the emulator picks an id; the answer is what was sent with an `etag`, which
changes on every patch. A patch replaces the dashboard (the method takes no update mask) and must carry the etag it
read: without one it is Google's 400 "Update Dashboard should specify a non empty etag." (a real answer,
tests/fixtures/google/monitoring_dashboard_patch_without_etag.json); with another it is 409 ABORTED, the status
https://google.aip.dev/154 gives an etag mismatch (the words are the emulator's). `displayName` is required and at
most one layout (grid, mosaic, row, column) is allowed. Widgets are stored as sent, with the defaults the recording
shows Google filling in inside an xyChart: each dataset's `targetAxis` Y1, and the `scale` LINEAR of a `yAxis` that
has none (whether Google adds a yAxis that was not sent is not known: the emulator does not).
"""

import copy
import hashlib
import json
import re
import uuid

from orchestra_emulator import paging
from orchestra_emulator.errors import aborted, already_exists, invalid_argument, not_found
from orchestra_emulator.registry import EmulatedApi, register

DOCUMENT = "monitoring.v1"
LAYOUTS = ("gridLayout", "mosaicLayout", "rowLayout", "columnLayout")


@register
class MonitoringV1(EmulatedApi):
    document = DOCUMENT
    proto_package = "google.monitoring.dashboard.v1"

    def __init__(self, shared):
        super().__init__(shared)
        self._store = shared.store
        prefix = "monitoring.projects.dashboards."
        self.handlers = {
            prefix + "create": (self.create, "dashboard"),
            prefix + "get": (self.get, None),
            prefix + "list": (self.list, None),
            prefix + "patch": (self.patch, "dashboard"),
            prefix + "delete": (self.delete, None),
        }
        # Only these methods are routed here (the document's other paths, under v1/projects/*, are not emulated).
        self.api.methods = [method for method in self.api.methods if method.id in self.handlers]

    def create(self, request):
        project = request.variables["projectsId"]
        name = request.body.get("name") or f"projects/{project}/dashboards/{uuid.uuid4()}"
        if not re.match(rf"^projects/{re.escape(project)}/dashboards/[^/]+$", name):
            raise invalid_argument(f"Invalid dashboard name {name!r}: projects/{project}/dashboards/[DASHBOARD_ID].", field="dashboard.name")
        dashboard = _dashboard(request.body, name)
        if request.query.get("validateOnly"):
            return dashboard
        with self._store.mutate() as data:
            if name in _dashboards(data):
                raise already_exists(f"Dashboard {name} already exists.")
            _dashboards(data)[name] = dashboard
        return copy.deepcopy(dashboard)

    def get(self, request):
        with self._store.lock:
            return copy.deepcopy(_found(self._store.data, _name(request.variables)))

    def list(self, request):
        prefix = f"projects/{request.variables['projectsId']}/dashboards/"
        with self._store.lock:
            items = [copy.deepcopy(d) for name, d in sorted(_dashboards(self._store.data).items()) if name.startswith(prefix)]
        page, token = paging.page(items, request.query.get("pageSize"), request.query.get("pageToken"))
        return {"dashboards": page, "nextPageToken": token}

    def patch(self, request):
        name = _name(request.variables)
        with self._store.mutate() as data:
            current = _found(data, name)
            sent = request.body.get("etag")
            if not sent:
                # Google's words (tests/fixtures/google/monitoring_dashboard_patch_without_etag.json).
                raise invalid_argument("Update Dashboard should specify a non empty etag.", field="dashboard.etag")
            if sent != current["etag"]:
                raise aborted(f"The dashboard {name} was changed since etag {sent} was read; read it again and retry.")
            dashboard = _dashboard(request.body, name)
            if request.query.get("validateOnly"):
                return dashboard
            _dashboards(data)[name] = dashboard
        return copy.deepcopy(dashboard)

    def delete(self, request):
        name = _name(request.variables)
        with self._store.mutate() as data:
            _found(data, name)
            del _dashboards(data)[name]
        return {}


def _dashboard(sent, name):
    dashboard = {k: copy.deepcopy(v) for k, v in sent.items() if k not in ("name", "etag")}
    if not dashboard.get("displayName"):
        raise invalid_argument("display_name is required.", field="dashboard.display_name")
    if sum(1 for layout in LAYOUTS if layout in dashboard) > 1:
        raise invalid_argument("A dashboard has at most one layout: grid_layout, mosaic_layout, row_layout or column_layout.",
                               field="dashboard.layout")
    for chart in _xy_charts(dashboard):
        for data_set in chart.get("dataSets", []):
            data_set.setdefault("targetAxis", "Y1")
        if "yAxis" in chart:
            chart["yAxis"].setdefault("scale", "LINEAR")
    dashboard["name"] = name
    dashboard["etag"] = hashlib.md5(json.dumps([dashboard, uuid.uuid4().hex], sort_keys=True).encode()).hexdigest()
    return dashboard


def _xy_charts(dashboard):
    """The xyCharts of a dashboard's widgets, whatever its layout (a mosaic's tiles, a row's or column's widgets)."""
    layout = next((dashboard[key] for key in LAYOUTS if key in dashboard), {})
    widgets = list(layout.get("widgets", [])) + [tile.get("widget", {}) for tile in layout.get("tiles", [])]
    for parts in (layout.get("rows"), layout.get("columns")):  # a grid's columns is a number
        if isinstance(parts, list):
            widgets += [widget for part in parts for widget in part.get("widgets", [])]
    return [widget["xyChart"] for widget in widgets if "xyChart" in widget]


def _dashboards(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("dashboards", {})


def _name(variables):
    return f"projects/{variables['projectsId']}/dashboards/{variables['dashboardsId']}"


def _found(data, name):
    dashboard = _dashboards(data).get(name)
    if dashboard is None:
        raise not_found(f"Dashboard {name} does not exist.")
    return dashboard
