-- The ten sellers with the most GMV in USD over every day in sku_sales (all
-- marketplaces and countries), for `warehouse report` (macro top_by_gmv_usd).
{{ top_by_gmv_usd('seller', ref('sku_sales'), ref('seller')) }}
