"""Access that expires and renews: a paid offer with ``access_days`` opens a period in its chat.

``funil.access.grants`` (the delivery begins, extends or restarts a period), ``funil.access.due``
(the ``access`` timer: reminders with renewal buttons, the removal at the end), ``funil.access.models``
(the ``ACCESS#<offer>`` item and its dates), ``funil.access.texts`` (pt-BR). docs/access.md.
"""
