'use strict';
process.stderr.write('cannot find my configuration, giving up\n');
process.exit(3);
