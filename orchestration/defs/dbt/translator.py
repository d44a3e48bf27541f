"""How dbt nodes become Dagster assets: plain keys, one group per layer, sources on the raw lake."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

from orchestration.defs.lake.assets import RAW_ASSET_KEY_BY_LAKE_KIND

# models/<layer>/… decides the group; seeds are the contract tables staging validates against
LAYERS = ("staging", "intermediate", "marts", "features")


class StreamloopDbtTranslator(DagsterDbtTranslator):
    """dbt data tests become asset checks (dagster-dbt's default); keys and groups are set here."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # dbt's source tables are the lake's kinds (events, catalog, rejected): point the dbt
            # dependency at the lake asset itself so lineage reads raw lake → staging
            raw_key = RAW_ASSET_KEY_BY_LAKE_KIND.get(dbt_resource_props["name"])
            return raw_key or super().get_asset_key(dbt_resource_props)
        # table names are unique across layers, so the bare name is the key (`plays`, `profile_features`)
        return dg.AssetKey(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "staging"
        fqn = dbt_resource_props.get("fqn", [])  # [project, folder under models/, …, name]
        if len(fqn) > 2 and fqn[1] in LAYERS:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)
