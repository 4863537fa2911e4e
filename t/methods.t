# Methods other than GET and HEAD: docs/conformance.md 2.2 and 2.3.
# With mod_dav the file's validators are known before PUT or DELETE runs,
# and the preconditions are decided then; a POST to a static file gets
# the file, so its preconditions apply; a CGI's POST is never turned into
# a 412.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use HTTP::Request ();
use lib 't/lib';
use CondCacheTest;

plan tests => 36;

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
