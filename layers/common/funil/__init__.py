"""Funil's shared package: plain logic and one adapter per external system.

Modules on the redirect hot path (``http``, ``useragent``, ``clicks``, ``bridge``, ``privacy``,
``ids``, ``rotation``, ``config``, ``adapters.dynamo``) import only the standard library, boto3 and
crawlerdetect (no pydantic, no Powertools): see docs/architecture.md §8 and bench/.
"""
