"""GDX One Data: event-driven inter-agency data exchange (contracts → Kafka → Airflow → lake → dbt)."""

__version__ = "0.1.0"
