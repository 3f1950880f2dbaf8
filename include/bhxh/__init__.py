"""Domain package of the BHXH reporting calendar: plain Python, no Airflow import."""
