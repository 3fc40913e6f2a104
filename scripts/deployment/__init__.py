"""The distributed deployment that ``scripts/distributed.py`` drives, one job per module.

- ``services``: what runs (PostgreSQL, Redis, the Thredfi sandbox, the Airflow components), as
  one table of data; ``compose.yaml`` here describes the same services for a host with Docker;
- ``supervisor``: runs that table as local processes (bounded starts, readiness waits and stops);
- ``install``: what the host lacks (apt packages, the ``distributed`` extra);
- ``context``: what every step shares (the deployment, its processes, its Airflow, its events);
- ``airflow_client``: the running Airflow's metadata database, REST API and CLI;
- ``faults``: a worker's process tree SIGKILLed and restarted, a sandbox outage;
- ``phases``: the bulk phase, and the daily phase with its backfill;
- ``reports``: what the task instances say (tries, workers, operators' counts, overlaps);
- ``verification``: the exactly-once check and the run's summary.

Not a DAGs folder: Airflow parses only the links the run makes in its state directory's ``dags/``
(``services.Deployment.prepare_dags_folder``), never this package.
"""
