# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller door of orchestra.gcp's modules.

PRIVATE to this collection. Every module has an action plugin of the same name: a ``GcpAction``
naming the module's spec and logic. When the task runs on the controller, the action builds the
module's own AnsibleModule in the controller process and runs the same logic there. Google's client
libraries were imported once, when Ansible loaded the plugin before forking its workers, instead
of once per task. The module's output goes through the same parsing as a module's output, so the
task result is the module's, field for field: validation messages, check mode, diff, warnings and
no_log masking included.

The controller process also starts the run's token cache when it loads the plugin (``_tokens``), so
that every task of the run, in either door, reuses one token per credential.

Arguments and results pass through what the running ansible-core uses between controller and module:
2.19's module JSON profiles; before 2.19, the JSON encoder that writes a module's arguments and the
JSON a module prints (its warnings and deprecations are the process's, so the door clears them
before each run: a loop's items share a worker).

Anywhere else the action runs the module as usual: on another host, with become (another user's
credentials), with async, when ``orchestra_gcp_in_process`` is false, or when the controller's
Python cannot import the libraries the module declares (the module then reports what is missing).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.utils.display import Display
from ansible.vars.clean import remove_internal_keys

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GOOGLE_IMPORT_ERROR, GcpModule, missing_libraries, warm_up
from ansible_collections.orchestra.gcp.plugins.module_utils._tokens import start_run

try:  # ansible-core 2.19's module JSON profiles, through which the controller door passes arguments and results
    from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
    wrap_var = None  # results are untrusted unless marked otherwise
except ImportError:  # older: arguments go through the encoder that writes a module's, results through print
    from ansible.utils.unsafe_proxy import wrap_var
    Direction = None

# The serialization profile of a module without metadata, as every module of this collection is.
PROFILE = "legacy"

display = Display()
# The JSON encoder and decoder of each direction between controller and module, built once.
_JSON = {} if Direction is None else {direction: (get_module_encoder(PROFILE, direction), get_module_decoder(PROFILE, direction))
                                      for direction in (Direction.CONTROLLER_TO_MODULE, Direction.MODULE_TO_CONTROLLER)}
if not GOOGLE_IMPORT_ERROR:
    warm_up()  # here, in the controller before Ansible forks its workers: they all inherit it
# Google's libraries are a large heap of objects that live as long as the process (modules, protobuf
# descriptors). Frozen, they are left out of every later garbage collection: the controller's full
# collections no longer walk them, and the workers' collections no longer touch (and so copy) the
# pages they inherited (https://docs.python.org/3/library/gc.html#gc.freeze).
gc.freeze()
start_run()  # the run's token directory, named in the environment its workers and modules inherit


class GcpAction(NormalAction):
    """Run the module of the same name in the controller process when the task runs there."""

    spec = None  # the module's spec: argument_spec and constraints, as given to GcpModule
    logic = None  # the module's logic: a function of a Session, as given to GcpModule.run

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname")
        reason = self._module_door_reason(task_vars)
        if reason:
            display.vvv("%s runs as a module: %s" % (self._task.action, reason), host=host)
            return super().run(tmp, task_vars)
        display.vvv("%s runs in the controller process" % self._task.action, host=host)

        result = ActionBase.run(self, tmp, task_vars)  # the base checks: check mode and async support
        args = dict(self._task.args)
        self._update_module_args(self._task.action, args, task_vars)
        environment = {}
        self._compute_environment_string(environment)
        with _environment(environment):
            output = run_module(self.spec, self.logic, args)
        if Direction is None:  # before 2.19 the action marks a module's whole result as unsafe to template
            data = wrap_var(self._parse_returned_data(output))
        else:
            data = self._parse_returned_data(output, PROFILE)
        remove_internal_keys(data)
        result.update(data)
        return result

    def _module_door_reason(self, task_vars):
        """Why this task must run as a module, or None when it can run in the controller process."""
        if not boolean(self._templar.template(task_vars.get("orchestra_gcp_in_process", True)), strict=False):
            return "orchestra_gcp_in_process is false"
        if self._connection.transport != "local":
            return "the task runs over a %s connection" % self._connection.transport
        if self._play_context.become:
            return "become is set, so the module runs as another user"
        if self._task.async_val:
            return "the task is async"
        if GOOGLE_IMPORT_ERROR:
            return "the controller's Python cannot import Google's client libraries"
        missing = missing_libraries(self.spec.get("libraries", ()))
        if missing:
            return "the controller's Python cannot import %s" % ", ".join(missing)
        return None


def run_module(spec, logic, args):
    """Run ``GcpModule(**spec).run(logic)`` here on task ``args``; return the module's output as a command's."""
    printed = []

    class ControllerModule(AnsibleModule):
        def _load_params(self):
            # The parameters as a module receives them: through the same JSON encoding.
            if Direction is None:
                self.params = json.loads(json.dumps(args, cls=AnsibleJSONEncoder, vault_to_text=True))
            else:
                encoder, decoder = _JSON[Direction.CONTROLLER_TO_MODULE]
                self.params = json.loads(json.dumps(args, cls=encoder), cls=decoder)

        def _record_module_result(self, o):  # ansible-core 2.19 and later; before, the result is printed
            printed.append(json.dumps(o, cls=_JSON[Direction.MODULE_TO_CONTROLLER][0]))

    stdout = io.StringIO()
    if Direction is None:
        # pylint: disable-next=protected-access
        for messages in (module_warnings._global_warnings, module_warnings._global_deprecations):
            messages.clear()
        printing = contextlib.redirect_stdout(stdout)
    else:
        printing = contextlib.nullcontext()
    with printing, contextlib.suppress(SystemExit):  # exit_json and fail_json end here, after the result
        GcpModule(module_class=ControllerModule, **spec).run(logic)
    return dict(stdout=printed[-1] if printed else stdout.getvalue())


@contextlib.contextmanager
def _environment(variables):
    """The task's ``environment``, as a module run on this host would see it."""
    saved = dict(os.environ)
    os.environ.update((name, str(value)) for name, value in variables.items())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
