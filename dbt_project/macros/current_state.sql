{#-
    current_state(relation, primary_key): one row per primary key, the latest event, from a CTE
    of landed bronze rows that still carry the lake metadata columns.

    1. Replays: a replayed record carries the same _event_id (a hash of the canonical value), so
       rows are first reduced to one per _event_id, keeping the copy landed last (_ingested_at).
       Its place in history is when the event was first published (min _kafka_timestamp over
       all copies), so re-landing old events can never make them "newer" than a correction.
    2. Revisions: a producer re-sends a key with new values as a new event (new _event_id); the
       event first published last wins (ties: lower Kafka offset of the first copy, then id).
-#}
{% macro current_state(relation, primary_key) -%}
    select * exclude (_copy_rank)
    from (
        select
            *,
            row_number() over (partition by _event_id order by _ingested_at desc, _batch_id desc) as _copy_rank,
            min(_kafka_timestamp) over (partition by _event_id) as _first_published_at,
            arg_min(_kafka_offset, _kafka_timestamp) over (partition by _event_id) as _first_offset
        from {{ relation }}
    )
    where _copy_rank = 1
    qualify row_number() over (
        partition by {{ primary_key | join(', ') }}
        order by _first_published_at desc, _first_offset desc, _event_id desc
    ) = 1
{%- endmacro %}
