-- wrk script: POST /api/runbooks/execute (async) of the 3-step no-op runbook.
wrk.method = "POST"
wrk.body = '{"runbookId":"three-noops","async":true}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("OPSRUN_TOKEN")
