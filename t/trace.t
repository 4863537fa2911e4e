# LogLevel condcache:trace1 (t/conf/extra.conf.in): one line a request,
# which says what the module decided (the note of the README's "What was
# decided, and why") and what the freshness policy did to the handler's
# Cache-Control and Expires: kept, merged, replaced, added, removed.  A 304
# that the handler made itself is noted "304 handler".
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use lib 't/lib';
use CondCacheTest;

plan tests => 12;

my $log = Apache::Test::vars('t_logs') . '/error_log';
my $seq = 0;

# the trace1 lines of one request (a query of its own tells them apart)
sub trace_of {
    my ($path, @headers) = @_;
    my $uri = "$path?cc=max-age%3D60&trace=" . $$ . '-' . ++$seq;
    my $res = GET $uri, @headers;
    my @lines;
    for (1 .. 50) {
        open my $fh, '<', $log or die "$log: $!";
        @lines = map { /\[condcache:trace1\].* condcache: (GET \Q$uri\E .*)$/
                       ? $1 : () } <$fh>;
        last if @lines;
        select undef, undef, undef, 0.1;
    }
    return ($res, @lines);
}

# (CondCacheExpiresDefault "access plus 1 hour" and CondCacheControl
# public over /fresh; Keep and Replace below it)
my ($res, @t) = trace_of('/fresh/own.sh');
ok t_cmp(scalar @t, 1, 'merge: one trace1 line for the request');
ok t_cmp($t[0] // '', qr/ 200: pass not-static; Cache-Control merged \(max-age=60, public\), Expires added$/,
         'merge: the handler\'s max-age kept, public added, Expires added');
ok t_cmp($res->header('Cache-Control'), 'max-age=60, public',
         'merge: what the trace says is what was sent');

($res, @t) = trace_of('/fresh/keep/own.sh');
ok t_cmp(scalar @t, 1, 'keep: one trace1 line');
ok t_cmp($t[0] // '', qr/ 200: pass not-static; Cache-Control kept \(max-age=60\), Expires none$/,
         'keep: the handler\'s Cache-Control kept, no Expires');

($res, @t) = trace_of('/fresh/replace/own.sh');
ok t_cmp(scalar @t, 1, 'replace: one trace1 line');
ok t_cmp($t[0] // '', qr/ 200: pass not-static; Cache-Control replaced \(max-age=3600, public\), Expires added$/,
         'replace: the policy\'s Cache-Control in place of the handler\'s');
ok t_cmp($res->header('Cache-Control'), 'max-age=3600, public',
         'replace: what the trace says is what was sent');

# the application's own 304
($res, @t) = trace_of('/fresh/own.sh', 'If-None-Match' => '"own-v1"');
ok t_cmp($res->code, 304, 'the application answers its own 304');
ok t_cmp(scalar @t, 1, 'its 304: one trace1 line');
ok t_cmp($t[0] // '', qr/ 304: 304 handler; Cache-Control merged \(max-age=60, public\), Expires added$/,
         'its 304: "304 handler", not "pass not-static"');
ok t_cmp(note_for(GET => '/fresh/own.sh', sub {
             GET '/fresh/own.sh', 'If-None-Match' => '"own-v1"' }),
         '304 handler', 'its 304: the access log\'s note');
