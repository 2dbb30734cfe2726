"""Delivery: the paid buyer gets the product once (docs/architecture.md §2.7).

``service`` consumes the delivery queue (a message per paid payment) and sends the buyer the offer's
content, or a one-time invite link (member_limit 1) / a join-request link approved only for the
buyer (``join_requests``); ``page`` is the delivery page ``GET /d/{token}``, which fires the browser
Purchase with the same event id as the server's and never triggers the server Purchase.
"""
