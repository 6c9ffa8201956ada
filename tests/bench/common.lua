-- Shared by the wrk scripts: a random user's token per request, and a percentile report.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
words = { "report", "invoice", "garden", "groceries", "meeting", "dentist", "budget", "flight", "taxes", "doctor",
          "library", "concert", "dinner", "repair", "server", "deploy", "backup", "rent", "passport", "insurance" }
prefixes = { "rep", "inv", "gard", "groc", "meet", "dent", "budg", "flig", "tax", "doc" }

function token()
  return tokens[math.random(#tokens)]
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests/s=%.0f p50=%.2fms p95=%.2fms p99=%.2fms requests=%d errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.requests, errors, summary.errors.status))
end
