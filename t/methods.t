# Methods other than GET and HEAD: docs/conformance.md 2.2 and 2.3.
# With mod_dav the file's validators are known before PUT or DELETE runs,
# and the preconditions are decided then; a POST to a static file gets
# the file, so its preconditions apply; a CGI's POST or PATCH is never
# turned into a 412.  TRACE and CONNECT ignore every precondition.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use HTTP::Request ();
use lib 't/lib';
use CondCacheTest;

plan tests => 76;

my $dav = '/dav/doc.txt';
unlink file_path('dav/doc.txt'), file_path('dav/never.txt');

sub content_of {
    my $path = file_path(shift);
    open my $fh, '<', $path or return undef;
    local $/;
    return scalar <$fh>;
}

# If-None-Match: * creates only what is not there (RFC 9110 13.1.2).
ok t_cmp(PUT($dav, content => "one\n", 'If-None-Match' => '*')->code, 201,
         'PUT, INM *, nothing there: created');
ok t_cmp(PUT($dav, content => "two\n", 'If-None-Match' => '*')->code, 412,
         'PUT, INM *, exists: 412');
ok t_cmp(content_of('dav/doc.txt'), "one\n", 'and the file is untouched');

set_mtime('static/a.txt');
set_mtime('dav/doc.txt');
my $T = tag_of('dav/doc.txt');
ok t_cmp(GET($dav)->header('ETag'), $T, 'GET gives the tag');

# If-Match: strong, any member.
ok t_cmp(note_for(PUT => $dav, sub {
             PUT($dav, content => "two\n", 'If-Match' => '"stale"') }),
         '412 if-match-failed', 'PUT, IM differs: 412');
ok t_cmp(PUT($dav, content => "two\n", 'If-Match' => "W/$T")->code, 412,
         'PUT, IM weak: 412');
ok t_cmp(content_of('dav/doc.txt'), "one\n", 'file untouched by a 412');
ok t_cmp(PUT($dav, content => "two\n", 'If-Unmodified-Since' =>
                 'Sat, 01 Jan 1994 00:00:00 GMT')->code, 412,
         'PUT, IUS before LM: 412');
my $r = PUT($dav, content => "two\n", 'If-Match' => qq{W/"x", $T});
ok t_cmp($r->code, 204, 'PUT, IM matches after a weak member: done');
ok t_cmp(content_of('dav/doc.txt'), "two\n", 'file replaced');
ok t_cmp(($r->header('ETag') // '') ne $T ? 1 : 0, 1,
         'the PUT response does not carry the old tag');

# One tag for GET and for PROPFIND (13): where no CondCacheETag applies,
# the module follows FileETag, which mod_dav_fs's getetag follows too.
{
    set_mtime('dav/doc.txt');
    my $get = GET($dav)->header('ETag');
    my $url = 'http://' . Apache::TestRequest::hostport() . $dav;
    my $req = HTTP::Request->new(PROPFIND => $url,
        [ Depth => 0, 'Content-Type' => 'text/xml' ],
        '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/>'
        . '</prop></propfind>');
    my $res = Apache::TestRequest::user_agent()->request($req);
    my ($etag) = $res->content =~ m{getetag>([^<]*)</}i;
    $etag =~ s/&quot;/"/g if defined $etag;
    ok t_cmp($etag, $get, 'PROPFIND\'s getetag is GET\'s ETag');
    ok t_cmp(PUT($dav, content => "two\n", 'If-Match' => $etag)->code, 204,
             'a PUT with If-Match: getetag goes through');
}

# An If-Match that names no tag matches nothing: the write fails (12).
set_mtime('dav/doc.txt');
for my $empty (',', '', ' , ,') {
    ok t_cmp(PUT($dav, content => "three\n", 'If-Match' => $empty)->code, 412,
             "PUT, If-Match '$empty': 412");
}
ok t_cmp(content_of('dav/doc.txt'), "two\n", 'and the file is untouched');

# If-Match: * needs a current representation.
ok t_cmp(PUT('/dav/never.txt', content => "x\n", 'If-Match' => '*')->code,
         412, 'PUT, IM *, nothing there: 412');
ok t_cmp(-e file_path('dav/never.txt') ? 1 : 0, 0, 'and nothing was created');

# DELETE
set_mtime('dav/doc.txt');
$T = tag_of('dav/doc.txt');
ok t_cmp(DELETE_RC($dav, 'If-Match' => '"stale"'), 412, 'DELETE, IM differs');
ok t_cmp(-e file_path('dav/doc.txt') ? 1 : 0, 1, 'still there');
ok t_cmp(DELETE_RC($dav, 'If-None-Match' => $T), 412,
         'DELETE, INM matches: 412 (not 304)');
ok t_cmp(DELETE_RC($dav, 'If-Match' => $T), 204, 'DELETE, IM matches');
ok t_cmp(-e file_path('dav/doc.txt') ? 1 : 0, 0, 'deleted');
ok t_cmp(DELETE_RC($dav, 'If-Match' => '*'), 404,
         'DELETE of nothing: 404, its preconditions ignored');

# The default handler answers a POST to a file with the file: its
# preconditions hold (2.2), and If-None-Match fails with 412, never 304.
my $F = tag_of('static/a.txt');
ok t_cmp(POST_RC('/static/a.txt', content => 'a=b'), 200, 'POST to a file: 200');
ok t_cmp(POST_RC('/static/a.txt', 'If-Match' => '"x"', content => 'a=b'),
         412, 'POST to a file, IM differs: 412');
ok t_cmp(POST_RC('/static/a.txt', 'If-None-Match' => '*', content => 'a=b'),
         412, 'POST to a file, INM * (6): 412, not 304');
ok t_cmp(POST_RC('/static/a.txt', 'If-None-Match' => $F, content => 'a=b'),
         412, 'POST to a file, INM matches: 412, not 304');
ok t_cmp(POST_RC('/static/a.txt', 'If-Match' => $F, content => 'a=b'),
         200, 'POST to a file, IM matches: 200');
ok t_cmp(POST_RC('/static/a.txt', 'If-Modified-Since' => LM_DATE,
                 content => 'a=b'), 200, 'POST ignores IMS');
# PUT, DELETE, PATCH without mod_dav: 405, whatever the preconditions.
ok t_cmp(PUT('/static/a.txt', content => 'x', 'If-Match' => '"x"')->code,
         405, 'PUT to a plain file, IM differs: 405');
ok t_cmp(DELETE_RC('/static/a.txt', 'If-None-Match' => '*'), 405,
         'DELETE of a plain file, INM *: 405');

# A CGI: the script file's validators are not the response's.
$r = POST('/cgi/hello.sh', 'If-Match' => '"x"', content => 'a=b');
ok t_cmp($r->code, 200, 'POST to a CGI with IM: no fake 412');
ok t_cmp($r->content, "hello from POST\n", 'the CGI ran');
set_mtime('cgi/hello.sh');
ok t_cmp(GET_RC('/cgi/hello.sh', 'If-None-Match' => tag_of('cgi/hello.sh')),
         200, 'GET of a CGI with the script file\'s tag: 200');

# PATCH: only its handler knows the resource before it runs (2.3), so a
# script's PATCH is never turned into a 412 or a 304 after it ran; neither
# the default handler nor mod_dav does PATCH: their 405 ignores the
# preconditions (2.2)
{
    my $D = GET('/dyn/hello.sh')->header('ETag');
    my $page = GET_BODY('/dyn/hello.sh');
    ok t_cmp(PUT($dav, content => "patch me\n")->code, 201, 'a DAV file');
    set_mtime('dav/doc.txt');
    my $DT = tag_of('dav/doc.txt');
    for my $h (['If-Match' => '"x"'], ['If-None-Match' => '*'],
               ['If-Unmodified-Since' => 'Sat, 01 Jan 1994 00:00:00 GMT']) {
        $r = REQUEST(PATCH => '/dyn/hello.sh', @$h, content => 'a=b');
        ok t_cmp($r->code, 200, "PATCH to a digest scope's CGI, @$h: no "
                                . 'fake 412');
        ok t_cmp($r->content, $page, 'the CGI ran');
        ok t_cmp(REQUEST(PATCH => '/cgi/hello.sh', @$h, content => 'a=b')
                     ->content, "hello from PATCH\n",
                 "PATCH to a CGI, @$h: the CGI ran");
        ok t_cmp(REQUEST(PATCH => '/static/a.txt', @$h, content => 'a=b')
                     ->code, 405, "PATCH to a plain file, @$h: 405");
        ok t_cmp(REQUEST(PATCH => $dav, @$h, content => 'a=b')->code, 405,
                 "PATCH to a DAV file, @$h: 405");
    }
    ok t_cmp(REQUEST(PATCH => '/dyn/hello.sh', 'If-None-Match' => $D,
                     content => 'a=b')->code, 200,
             'PATCH with the digest in If-None-Match: no fake 304 or 412');
    ok t_cmp(REQUEST(PATCH => $dav, 'If-Match' => $DT, content => 'a=b')
                 ->code, 405, 'PATCH to a DAV file, its own tag: 405');
    ok t_cmp(content_of('dav/doc.txt'), "patch me\n", 'the file is untouched');
    unlink file_path('dav/doc.txt');
}

# TRACE echoes the request it received (TraceEnable On, httpd's default):
# a file, a digest, a stored entry; whatever the preconditions, never a
# 304 or a 412 (2.2)
{
    my $st = '/store/page.lua?case=trace';
    my %tag = ('/static/a.txt' => tag_of('static/a.txt'),
               '/dyn/hello.sh' => GET('/dyn/hello.sh')->header('ETag'),
               $st => GET($st)->header('ETag'));
    ok t_cmp(GET_RC($st, 'If-None-Match' => $tag{$st}), 304,
             'TRACE: the page has an entry in the store');
    for my $url (sort keys %tag) {
        for my $h (['If-Match' => '"x"'], ['If-None-Match' => $tag{$url}],
                   ['If-None-Match' => '*'],
                   ['If-Unmodified-Since' => 'Sat, 01 Jan 1994 00:00:00 GMT']) {
            $r = REQUEST(TRACE => $url, @$h);
            my ($line) = $r->content =~ /\A([^\r\n]*)/;
            ok t_cmp(join(' ', $r->code, $r->header('Content-Type') // '',
                          $line // ''),
                     "200 message/http TRACE $url HTTP/1.1",
                     "TRACE $url, @$h: 200, the request echoed");
        }
    }
}

# CONNECT names no path; an origin server serves it as "/", here handler
# output with an entry in the store: the handler answers, as without the
# preconditions, never a 412 from the stored tag (2.2)
{
    my $old = Apache::TestRequest::module('condcache_connect');
    my $hp = Apache::TestRequest::hostport();
    for my $h (['If-Match' => '"x"'],
               ['If-Unmodified-Since' => 'Sat, 01 Jan 1994 00:00:00 GMT'],
               ['If-Match' => '"x"', 'If-None-Match' => '*']) {
        my $T = GET('/')->header('ETag');
        ok t_cmp(note_for(GET => '/store/page.lua',
                          sub { GET_RC('/', 'If-None-Match' => $T) }),
                 '304 store-match', '"/" has an entry in the store');
        my $sock = Apache::TestRequest::vhost_socket('condcache_connect');
        my @f = @$h;
        my $fields = '';
        while (my ($k, $v) = splice @f, 0, 2) {
            $fields .= "$k: $v\r\n";
        }
        print $sock "CONNECT $hp HTTP/1.1\r\nHost: $hp\r\n$fields"
                  . "Connection: close\r\n\r\n";
        my $wire = read_to_end($sock);
        my ($status) = $wire =~ m{\AHTTP/1\.1 (\d{3}) };
        my ($saw) = $wire =~ m{^X-Saw-If-Match: ([^\r\n]*)}mi;
        my %sent = @$h;
        ok t_cmp(($status // 'none') . ' ' . ($saw // 'not run'),
                 '204 ' . ($sent{'If-Match'} // 'none'),
                 "CONNECT, @$h: the handler's 204, the preconditions "
                 . 'ignored');
    }
    Apache::TestRequest::module($old);
}

# CONNECT through a forward proxy where every part of the module is on:
# the tunnel is made whatever the preconditions, and a request goes
# through it
{
    my $target = '127.0.0.1:' . Apache::Test::vars('port');
    my $sock = Apache::TestRequest::vhost_socket('condcache_tunnel');
    print $sock "CONNECT $target HTTP/1.1\r\nHost: $target\r\n"
              . "If-Match: \"x\"\r\nIf-None-Match: *\r\n"
              . "If-Unmodified-Since: Sat, 01 Jan 1994 00:00:00 GMT\r\n\r\n";
    local $SIG{ALRM} = sub { die "no answer from the proxy\n" };
    alarm 30;
    my $head = '';
    while ($head !~ /\r\n\r\n\z/ && sysread($sock, my $c, 1)) {
        $head .= $c;
    }
    ok t_cmp($head, qr{\AHTTP/1\.[01] 200 },
             'CONNECT through the proxy, with preconditions: 200, a tunnel');
    print $sock "GET /static/a.txt HTTP/1.1\r\nHost: $target\r\n"
              . "Connection: close\r\n\r\n";
    my $wire = '';
    while (sysread($sock, my $buf, 65536)) { $wire .= $buf }
    alarm 0;
    ok t_cmp($wire, qr{\AHTTP/1\.1 200 .*\r\n\r\nhello, condcache\n\z}s,
             'and a GET through the tunnel gets the file');
}
