# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs orchestra.gcp.monitoring_uptime_check in the controller process when the task runs on the controller."""

from __future__ import annotations

from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import UPTIME_SPEC, manage_uptime_check
from ansible_collections.orchestra.gcp.plugins.plugin_utils._in_process import GcpAction


class ActionModule(GcpAction):
    spec = UPTIME_SPEC
    logic = staticmethod(manage_uptime_check)
