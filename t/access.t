# Preconditions are evaluated only after authentication and authorization
# (docs/conformance.md 2.1): a client that may not see a resource learns
# nothing of it from a 304 or a 412.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use lib 't/lib';
use CondCacheTest;

plan tests => 9;

set_mtime('protected/a.txt');
set_mtime('denied/a.txt');
my $url = '/protected/a.txt';
my $T = tag_of('protected/a.txt');

ok t_cmp(GET_RC($url, 'If-None-Match' => $T), 401, 'no credentials, INM: 401');
ok t_cmp(GET_RC($url, 'If-Modified-Since' => LM_DATE), 401,
         'no credentials, IMS: 401');
ok t_cmp(GET_RC($url, 'If-Match' => '"x"'), 401, 'no credentials, IM: 401');
ok t_cmp(GET_RC($url, 'If-None-Match' => $T,
                username => 'alice', password => 'wrong'), 401,
         'wrong password: 401');
ok t_cmp(GET_RC($url, 'If-None-Match' => $T,
                username => 'alice', password => 'wonderland'), 304,
         'authorized: 304');
ok t_cmp(GET_RC($url, 'If-Match' => '"x"',
                username => 'alice', password => 'wonderland'), 412,
         'authorized: 412');
ok t_cmp(GET_RC($url, username => 'alice', password => 'wonderland'), 200,
         'authorized: 200');
ok t_cmp(GET_RC('/denied/a.txt', 'If-None-Match' => tag_of('denied/a.txt')),
         403, 'denied: 403, not 304');
ok t_cmp(GET_RC('/denied/a.txt', 'If-Match' => '"x"'), 403,
         'denied: 403, not 412');
