"""The steps the DAGs call ("các bước của một kỳ báo cáo"): the only place that ties intake, reports and
notify together. dags/ imports nothing else of bhxh.
"""
