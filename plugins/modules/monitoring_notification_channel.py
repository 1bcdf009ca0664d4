#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: monitoring_notification_channel
short_description: Create, update or delete a Cloud Monitoring notification channel
version_added: 0.3.0
description:
  - Manages a Cloud Monitoring notification channel, where alert policies send their notifications (an e-mail
    address, a Slack channel, a Pub/Sub topic or a webhook).
  - Google assigns a channel's ID. The module finds its channel by O(display_name) and the user label
    C(orchestra_id) it sets on it (a slug of the display name); a channel without that label is not the module's.
  - Secret labels (Slack's C(auth_token), a C(password)) go in O(secret_labels), hidden from logs. Google does not
    show them when a channel is read, so they are written when the channel is created, when its other labels
    change, or on every run with O(update_secret_labels=true); they are never in the results or the diff.
  - Every check runs before any call.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  display_name:
    description: The channel's name in the console, and with the C(orchestra_id) label its identity.
    type: str
    required: true
  state:
    description: Whether the channel exists.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - The channel type, V(email), V(slack), V(pubsub) or V(webhook_tokenauth). Required when O(state=present).
        A channel's type cannot change.
    type: str
  labels:
    description:
      - The type's labels, all of them. C(email_address) for V(email); C(channel_name) for V(slack) (with
        C(auth_token) in O(secret_labels)); C(topic) (V(projects/PROJECT/topics/TOPIC)) for V(pubsub); C(url) for
        V(webhook_tokenauth).
    type: dict
    default: {}
  secret_labels:
    description: The type's secret labels (C(auth_token), C(password)), hidden from logs, results and diffs.
    type: dict
    default: {}
  update_secret_labels:
    description: Write O(secret_labels) on every run (a secret cannot be read back to compare), and report a change.
    type: bool
    default: false
  description:
    description: What the channel is for.
    type: str
    default: ""
  enabled:
    description: Whether the channel sends notifications.
    type: bool
    default: true
  user_labels:
    description: Labels of the channel, besides the module's C(orchestra_id). Those not given are removed.
    type: dict
    default: {}
  force:
    description: With O(state=absent), delete a channel that alert policies use, removing it from them.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The on-call Slack channel
  orchestra.gcp.monitoring_notification_channel:
    display_name: Orchestra on-call
    type: slack
    labels:
      channel_name: "#orchestra-oncall"
    secret_labels:
      auth_token: "{{ slack_token }}"
"""

RETURN = r"""
channel:
  description: The channel as Google returns it, without its secret labels; null once deleted.
  returned: always
  type: dict
  sample:
    name: projects/my-project/notificationChannels/1234567890123456789
    type: slack
    displayName: Orchestra on-call
    labels:
      channel_name: "#orchestra-oncall"
    userLabels:
      orchestra_id: orchestra-on-call
    enabled: true
changed_options:
  description: The fields that differed from the live channel (all of them for a new one).
  returned: when state is present
  type: list
  elements: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import CHANNEL_SPEC, manage_channel


def main():
    GcpModule(**CHANNEL_SPEC).run(manage_channel)


if __name__ == "__main__":
    main()
