# Airflow 3 image with the GDX environment: the same lock file as the local venv.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.lock /opt/gdx/requirements.lock
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --no-cache --python "$(command -v python)" -r /opt/gdx/requirements.lock
ENV PYTHONPATH=/opt/gdx
