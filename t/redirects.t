# Subrequests, internal redirects and error documents do not evaluate the
# client's preconditions again (docs/conformance.md 2.4); a redirect
# ignores them (2.2); a response whose
# bytes are not the file's (a CGI, SSI) does not get the file's validators;
# httpd's own answer to a request line it would not read gets the host's
# freshness policy, though it has no URL.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use lib 't/lib';
use CondCacheTest;

plan tests => 35;

set_mtime('static/404.html');
set_mtime('ssi/inc.txt');
set_mtime('ssi/page.shtml');
set_mtime('dir/index.html');

# ErrorDocument: the 404 stays a 404.
my $r = GET '/errdoc/missing.txt', 'If-None-Match' => '*';
ok t_cmp($r->code, 404, 'ErrorDocument, INM *: 404');
ok t_cmp($r->content, qr/not here/, 'with the error document');
ok t_cmp(GET_RC('/errdoc/missing.txt',
                'If-None-Match' => tag_of('static/404.html')), 404,
         'INM with the error document\'s own tag: 404');
ok t_cmp(GET_RC('/errdoc/missing.txt', 'If-Match' => '"x"'), 404,
         'IM: 404, not 412');

# mod_include: the included file is a subrequest, the page is not a file.
$r = GET '/ssi/page.shtml', 'If-None-Match' => tag_of('ssi/inc.txt');
ok t_cmp($r->code, 200, 'SSI page with the included file\'s tag: 200');
ok t_cmp($r->content, qr/included text/, 'whole page, include done');
ok t_cmp(GET_RC('/ssi/page.shtml',
                'If-None-Match' => tag_of('ssi/page.shtml')), 200,
         'SSI page with its source file\'s tag: 200');
ok t_cmp(note_for(GET => '/ssi/page.shtml', sub { GET_RC '/ssi/page.shtml' }),
         'pass not-static', 'note');
ok t_cmp(GET_RC('/ssi/page.shtml', 'If-Modified-Since' => LM_DATE), 200,
         'SSI page, IMS = source mtime: 200');

# DirectoryIndex: the index file is what is served, and what is compared.
my $T = tag_of('dir/index.html');
$r = GET '/dir/';
ok t_cmp($r->header('ETag'), $T, 'directory index has the file\'s tag');
ok t_cmp(GET_RC('/dir/', 'If-None-Match' => $T), 304, 'and revalidates');
ok t_cmp(GET_RC('/dir/', 'If-Match' => '"x"'), 412, 'If-Match too');

# A request line httpd will not read: its 414 (longer than
# LimitRequestLine) or 400 has no URL, and the policy of the host, which
# lists those statuses and a fingerprint pattern, applies to it by type.
for my $case (['414', 'GET /' . ('a' x 9000) . ' HTTP/1.1'],
              ['400', "GET /a\x01b HTTP/1.1"]) {
    my ($want, $line) = @$case;
    my $sock = Apache::TestRequest::vhost_socket('condcache_errors');
    print $sock "$line\r\nHost: localhost\r\n\r\n";
    my $wire = read_to_end($sock);
    my ($status) = $wire =~ m{\AHTTP/1\.1 (\d{3}) };
    ok t_cmp($status // 'no response', $want,
             "an unreadable request line: $want, and the server answers");
    my ($cc) = $wire =~ m{^Cache-Control: ([^\r\n]*)}mi;
    ok t_cmp($cc // 'none', 'max-age=3600',
             "the $want gets the host's default lifetime");
}

# The access log shows the request as the client sent it, also when the
# request that took its preconditions out (a digest scope) redirects
# internally to one that did not (a CGI's local Location).
{
    set_mtime('static/a.txt');
    my $A = tag_of('static/a.txt');
    my $id = "local-$$";
    my $r = GET '/dyn/local.sh', 'If-None-Match' => $A, 'X-Test-Id' => $id;
    ok t_cmp($r->code, 304, 'a local redirect to a file: its 304');
    my $log = Apache::Test::vars('t_logs') . '/condcache_log';
    my $logged = 'no log line';
    for (1 .. 50) {
        open my $fh, '<', $log or die "$log: $!";
        while (<$fh>) {
            # mod_log_config writes a quote as \"
            ($logged = $1) =~ s/\\"/"/g if /^GET \S+ \d+ "(.*)" \Q$id\E \[/;
        }
        last if $logged ne 'no log line';
        select undef, undef, undef, 0.1;
    }
    ok t_cmp($logged, $A, 'the log shows the If-None-Match sent');
}

# A redirect is no representation: its preconditions are ignored (2.2),
# whoever makes it (mod_alias, mod_dir, a script in a digest scope,
# handler output in a store scope), whatever would have made a 304 or a
# 412 of a 200
{
    my $st = '/store/page.lua?case=redirect&status=303';
    my @redirects = (
        [ 'mod_alias Redirect', '/fresh-moved', 301 ],
        [ 'mod_dir adds the slash', '/dir', 301 ],
        [ 'a script in a digest scope', '/dyn/moved.sh', 302 ],
        [ 'handler output in a store scope', $st, 303 ],
    );
    for my $c (@redirects) {
        my ($what, $url, $want) = @$c;
        for my $h (['If-Match' => '"x"'], ['If-None-Match' => '*'],
                   ['If-Unmodified-Since' => 'Sat, 01 Jan 1994 00:00:00 GMT'],
                   ['If-Modified-Since' => http_date(time)]) {
            ok t_cmp(GET_RC($url, @$h, redirect_ok => 0), $want,
                     "$what, @$h: $want");
        }
    }
    ok t_cmp(GET($st, redirect_ok => 0)->code, 303,
             'the store\'s page answers 303 without preconditions too');
}
