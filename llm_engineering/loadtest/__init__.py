"""Benchmarks of a live endpoint: load over the streaming client, statistics, tables, comparison and a chart.

`spec` checks the run before anything is sent, `target` reads the endpoint, its price and roofline, `load`
streams with threads, `stats` turns timings into percentiles and cost, `run` ties them into one JSON document,
`report` and `chart` show it, `compare` picks the cheapest configuration that meets a latency target.
"""
