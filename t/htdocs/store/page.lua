-- A dynamic page that counts its runs, for the validator store's tests.
-- Each URI (path and query) counts in t/logs/store-runs/<uri>; its body is
-- "version N" where t/logs/store-runs/<uri>.version says N (1 without).
-- The query says what else it sends:
--   cc=...       Cache-Control          vary=...   Vary
--   etag=...     its own ETag           lm=1       its own Last-Modified
--   cookie=...   Set-Cookie             loc=...    Location (a write's)
--   status=N     the status of a GET    cl=...     Content-Location
-- and the request fields X-Send-CC and X-Send-Vary, what Cache-Control and
-- Vary it sends, X-Send-Status the status of a write (so that one URI can
-- change its mind).
-- A method other than GET or HEAD gets a 204 (or the status= given), and
-- X-Saw-If-Match says what If-Match reached it.
function handle(r)
    local dir = r.document_root .. "/../logs/store-runs/"
    os.execute("mkdir -p '" .. dir .. "'")
    local name = (r.uri .. "?" .. (r.args or "")):gsub("[^%w]", "_")
    local f = io.open(dir .. name, "r")
    local n = f and tonumber(f:read("*a")) or 0
    if f then f:close() end
    f = io.open(dir .. name, "w")
    f:write(tostring(n + 1))
    f:close()
    f = io.open(dir .. name .. ".version", "r")
    local version = f and f:read("*l") or "1"
    if f then f:close() end

    local args = r:parseargs()
    local cc = r.headers_in["X-Send-CC"] or args.cc
    local vary = r.headers_in["X-Send-Vary"] or args.vary
    if cc then r.headers_out["Cache-Control"] = cc end
    if vary then r.headers_out["Vary"] = vary end
    if args.etag then r.headers_out["ETag"] = '"' .. args.etag .. '"' end
    if args.lm then
        r.headers_out["Last-Modified"] = "Tue, 01 Dec 2026 10:00:00 GMT"
    end
    if args.cookie then
        r.err_headers_out["Set-Cookie"] = "session=" .. args.cookie
    end
    if args.cl then r.headers_out["Content-Location"] = args.cl end
    if r.method ~= "GET" and r.method ~= "HEAD" then
        -- what reached the handler of a write
        r.headers_out["X-Saw-If-Match"] = r.headers_in["If-Match"] or "none"
        if args.loc then r.headers_out["Location"] = args.loc end
        r.status = tonumber(r.headers_in["X-Send-Status"] or args.status
                            or "204")
        return apache2.OK
    end
    if args.status then r.status = tonumber(args.status) end
    r.content_type = "text/html"
    r:puts(string.rep("<p>" .. r.uri .. " version " .. version .. " for "
                      .. (r.user or "nobody") .. " at "
                      .. (r.hostname or "") .. "</p>\n", 40))
    return apache2.OK
end
