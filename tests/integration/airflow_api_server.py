"""A real Airflow api-server for tests, started in ONE interpreter (`python -m
tests.integration.airflow_api_server PORT`, environment from `airflow_env`): the metadata DB
migrated (`airflow db migrate`'s `upgradedb`), the DAGs folder serialized (`airflow dags
reserialize`'s code), then Airflow's own FastAPI app (`create_app`, the app `airflow api-server`
serves) under uvicorn. Three `airflow` CLI start-ups cost ~2 minutes on a busy 2-core box; this
costs one."""

from __future__ import annotations

import sys


def main(port: int) -> None:
    from airflow.utils import db

    db.upgradedb()
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.utils.session import create_session

    with create_session() as session:
        manager = DagBundlesManager()
        manager.sync_bundles_to_db(session=session)
        session.commit()
        for bundle in manager.get_all_dag_bundles():
            bundle.initialize()
            bag = BundleDagBag(bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
            if bag.import_errors:
                raise SystemExit(f"DAG import errors: {bag.import_errors}")
            sync_bag_to_db(bag, bundle.name, bundle_version=None, session=session)
            session.commit()
    import uvicorn
    from airflow.api_fastapi.app import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))
