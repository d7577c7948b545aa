// Runs dynalite, the local DynamoDB-compatible server, for mqtt-dynamo's dev mode and tests; it takes
// dynalite's own options (node serve.js --host 127.0.0.1 --port 4567 ...). The Java process that starts
// it decides when it ends:
// - Ctrl-C in a terminal interrupts the whole foreground process group, and the service still drains its
//   writes into this server after that: SIGINT is ignored here (where setsid is missing and the server
//   shares the terminal's process group); the service stops the server once it is done with it.
// - Once the process named by MQTT_DYNAMO_OWNER_PID is gone (killed, or ended without stopping this
//   server), this one ends too: checked every second.
'use strict';

process.on('SIGINT', function () {});

var owner = Number(process.env.MQTT_DYNAMO_OWNER_PID || 0);
if (owner > 0) {
  setInterval(function () {
    try {
      // Signal 0 only asks whether the process exists; EPERM means it does (another user's).
      process.kill(owner, 0);
    } catch (e) {
      if (e.code === 'ESRCH') {
        process.exit(0);
      }
    }
  }, 1000).unref();
}

require('./node_modules/dynalite/cli.js');
