"""Storage adapters: the only package that imports PynamoDB.

Repositories satisfy the Protocols in ``core.ports`` and return core entities, never Model instances. Every
repository method takes the tenant id first and every key is built by ``keys``, which cannot build one without it.
"""

from chalicelib.aws_session import import_botocore

import_botocore()  # before PynamoDB imports botocore: without its pyOpenSSL probe (cold start)
