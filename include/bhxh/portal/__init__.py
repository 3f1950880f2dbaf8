"""The unit portal ("cổng nộp báo cáo"): FastAPI and Jinja templates (templates/portal/), served by uvicorn
(`make portal`, `make up`, the `bhxh-portal` service of docker-compose.yaml). See bhxh.portal.app."""
