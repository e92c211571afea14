-- latdiag_info: the store's own state.
SELECT latdiag_reset();
SELECT 1 AS one;
SELECT entries = (SELECT count(*) FROM latdiag_queries) AS entries_match_view,
       max_entries,
       evictions,
       truncated_texts,
       max_query_length,
       shmem_bytes > max_entries * (2048 + max_query_length) AS shmem_covers_slots,
       stats_reset <= now() AS reset_in_past
  FROM latdiag_info;
