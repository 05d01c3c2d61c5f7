"""Table definitions derived from the PynamoDB models: used by the local bootstrap and by the CDK stack."""

from __future__ import annotations

from typing import Any

from chalicelib.storage.models import ALL_TABLE_MODELS, AuditItem, MainItem

# Environment variable through which the deployed functions learn each table's name.
TABLE_ENV = {MainItem: "GATEHOUSE_MAIN_TABLE", AuditItem: "GATEHOUSE_AUDIT_TABLE"}


def _key_attrs(attributes: dict[str, Any]) -> tuple[Any, Any]:
    hash_attr = next(a for a in attributes.values() if a.is_hash_key)
    range_attr = next((a for a in attributes.values() if a.is_range_key), None)
    return hash_attr, range_attr


def table_definitions() -> list[dict[str, Any]]:
    """A plain description of every table: name, env var, key schema, GSIs and TTL attribute."""
    tables = []
    for model in ALL_TABLE_MODELS:
        hash_attr, range_attr = _key_attrs(model.get_attributes())
        attr_types = {a.attr_name: str(a.attr_type) for a in (hash_attr, range_attr) if a is not None}
        gsis = []
        for index in model._indexes.values():
            index_hash, index_range = _key_attrs(index.Meta.attributes)
            gsis.append(
                {
                    "name": index.Meta.index_name,
                    "partition_key": index_hash.attr_name,
                    "sort_key": index_range.attr_name if index_range is not None else None,
                }
            )
            attr_types.update({a.attr_name: str(a.attr_type) for a in (index_hash, index_range) if a is not None})
        ttl = next((a.attr_name for a in model.get_attributes().values() if type(a).__name__ == "TTLAttribute"), None)
        tables.append(
            {
                "logical_id": model.__name__.replace("Item", "Table"),
                "table_name": model.Meta.table_name,
                "env": TABLE_ENV[model],
                "partition_key": hash_attr.attr_name,
                "sort_key": range_attr.attr_name if range_attr is not None else None,
                "attribute_types": attr_types,
                "gsis": gsis,
                "ttl_attribute": ttl,
            }
        )
    return tables


def create_tables() -> list[str]:
    """Create every table that does not exist yet (local bootstrap and tests); returns the names created."""
    created = []
    for model in ALL_TABLE_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            created.append(model.Meta.table_name)
        else:
            add_missing_indexes(model)
    return created


def add_missing_indexes(model: Any) -> list[str]:
    """Add GSIs a model gained since its table was created (an on-disk local stack from an older version)."""
    connection = model._get_connection()
    description = connection.describe_table()
    present = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
    added = []
    for index in model._indexes.values():
        name = index.Meta.index_name
        if name in present:
            continue
        index_hash, index_range = _key_attrs(index.Meta.attributes)
        key_schema = [{"AttributeName": index_hash.attr_name, "KeyType": "HASH"}]
        definitions = [{"AttributeName": index_hash.attr_name, "AttributeType": str(index_hash.attr_type)}]
        if index_range is not None:
            key_schema.append({"AttributeName": index_range.attr_name, "KeyType": "RANGE"})
            definitions.append({"AttributeName": index_range.attr_name, "AttributeType": str(index_range.attr_type)})
        connection.connection.client.update_table(
            TableName=model.Meta.table_name,
            AttributeDefinitions=definitions,
            GlobalSecondaryIndexUpdates=[
                {"Create": {"IndexName": name, "KeySchema": key_schema, "Projection": {"ProjectionType": "ALL"}}}
            ],
        )
        added.append(name)
    return added
