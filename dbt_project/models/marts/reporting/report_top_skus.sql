-- The ten SKUs with the most GMV in USD over every day in sku_sales (all sellers
-- and countries of their marketplace), for `warehouse report` (macro top_by_gmv_usd).
{{ top_by_gmv_usd('sku', ref('sku_sales'), ref('sku')) }}
