-- A front controller's script (t/store.t): every URL of its directory
-- comes here through mod_rewrite, and only some may run it.
function handle(r)
    r.content_type = "text/plain"
    r:puts("the account page of " .. r.unparsed_uri .. "\n")
    return apache2.OK
end
