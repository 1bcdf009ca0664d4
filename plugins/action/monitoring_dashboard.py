# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs orchestra.gcp.monitoring_dashboard in the controller process when the task runs on the controller."""

from __future__ import annotations

from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import DASHBOARD_SPEC, manage_dashboard
from ansible_collections.orchestra.gcp.plugins.plugin_utils._in_process import GcpAction


class ActionModule(GcpAction):
    spec = DASHBOARD_SPEC
    logic = staticmethod(manage_dashboard)
