-- wrk script: GET /api/executions/{id} with the viewer's token.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("OPSRUN_TOKEN")
