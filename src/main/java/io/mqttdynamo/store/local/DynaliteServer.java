package io.mqttdynamo.store.local;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A local DynamoDB-compatible server (dynalite, the npm package pinned in {@code local-dynamodb/}) run
 * as a child process with the machine's Node.js, for dev mode and the tests. Installs the package with
 * npm on first use.
 *
 * <p>The server runs through {@code local-dynamodb/serve.js}, in a session and process group of its own
 * where {@code setsid} exists: Ctrl-C in the terminal reaches the service, which drains its writes into the
 * server and then stops it, but not the server itself. It ends by itself once the process that started it
 * is gone, so a killed JVM leaves no server behind.
 */
public final class DynaliteServer implements AutoCloseable {

    /** Environment variable naming the process whose end ends the server (read by serve.js). */
    static final String OWNER_ENV = "MQTT_DYNAMO_OWNER_PID";

    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final ProcessHandle process;
    private final String endpoint;

    private DynaliteServer(ProcessHandle process, String endpoint) {
        this.process = process;
        this.endpoint = endpoint;
    }

    /**
     * Starts the server on {@code host:port} and waits until it answers; refuses a port something else
     * answers on already (another dev mode's server would share its tables).
     *
     * @param packageDir the folder with dynalite's package.json
     * @param dataPath where to keep the data; in memory when empty
     */
    public static DynaliteServer start(Path packageDir, String host, int port, Optional<Path> dataPath)
            throws IOException, InterruptedException {
        return start(packageDir, host, port, dataPath, ProcessHandle.current().pid());
    }

    /** As {@link #start(Path, String, int, Optional)}, the server ending once process {@code ownerPid} is gone. */
    static DynaliteServer start(Path packageDir, String host, int port, Optional<Path> dataPath, long ownerPid)
            throws IOException, InterruptedException {
        if (answers(host, port)) {
            throw new IOException("something already listens on " + host + ":" + port + " (another mqtt-dynamo"
                    + " dev mode? Its tables would be shared): stop it, or set mqtt-dynamo.local-dynamodb.port to a"
                    + " free port");
        }
        Path cli = packageDir.resolve("node_modules/dynalite/cli.js");
        if (!Files.exists(cli)) {
            install(packageDir);
        }
        List<String> command = new ArrayList<>();
        setsid().ifPresent(command::add);
        command.addAll(List.of(
                node(),
                packageDir.resolve("serve.js").toString(),
                "--host",
                host,
                "--port",
                Integer.toString(port),
                "--createTableMs",
                "20",
                "--deleteTableMs",
                "20",
                "--updateTableMs",
                "20"));
        if (dataPath.isPresent()) {
            Files.createDirectories(dataPath.get());
            command.add("--path");
            command.add(dataPath.get().toString());
        }
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put(OWNER_ENV, Long.toString(ownerPid));
        Process process = builder.start();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!answers(host, port)) {
            if (!process.isAlive()) {
                throw new IOException("the local DynamoDB server (dynalite) exited with code " + process.exitValue()
                        + "; is port " + port + " free? Set mqtt-dynamo.local-dynamodb.port to another one");
            }
            if (System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IOException("the local DynamoDB server (dynalite) did not answer on " + host + ":" + port
                        + " within " + START_TIMEOUT.toSeconds() + " s");
            }
            process.waitFor(50, TimeUnit.MILLISECONDS);
        }
        if (!process.isAlive()) {
            // Another server bound the port between the check and the start; this one gave up.
            throw new IOException("something else took " + host + ":" + port + " while the local DynamoDB server"
                    + " started; set mqtt-dynamo.local-dynamodb.port to a free port");
        }
        return new DynaliteServer(process.toHandle(), "http://" + host + ":" + port);
    }

    /**
     * The server of process {@code pid} on {@code host:port}, started earlier by this JVM (dev mode keeps it
     * across live reloads); empty when that process is gone or nothing answers there.
     */
    public static Optional<DynaliteServer> adopt(long pid, String host, int port) {
        Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        if (process.isEmpty() || !answers(host, port)) {
            return Optional.empty();
        }
        return Optional.of(new DynaliteServer(process.get(), "http://" + host + ":" + port));
    }

    /** The endpoint URL for the DynamoDB client. */
    public String endpoint() {
        return endpoint;
    }

    /** The server's process id. */
    public long pid() {
        return process.pid();
    }

    /** Whether the server's process still runs. */
    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            process.onExit().get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            process.destroyForcibly();
        }
    }

    private static boolean answers(String host, int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * util-linux's {@code setsid}, which runs the server in a new session (so a new process group: the
     * terminal's Ctrl-C does not reach it); it replaces itself with the server, keeping its process id, as
     * the JVM's children are no process group leaders. Empty where there is none (macOS): serve.js ignores
     * SIGINT there.
     */
    private static Optional<String> setsid() {
        String path = System.getenv("PATH");
        if (path == null || System.getProperty("os.name").toLowerCase().contains("win")) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, "setsid");
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate.toString());
            }
        }
        return Optional.empty();
    }

    private static void install(Path packageDir) throws IOException, InterruptedException {
        if (!Files.exists(packageDir.resolve("package.json"))) {
            throw new IOException("no " + packageDir.toAbsolutePath().resolve("package.json")
                    + ": run from the project folder, or set mqtt-dynamo.local-dynamodb.directory");
        }
        String npm = System.getProperty("os.name").toLowerCase().contains("win") ? "npm.cmd" : "npm";
        Process install;
        try {
            install = new ProcessBuilder(npm, "ci", "--no-audit", "--no-fund")
                    .directory(packageDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .start();
        } catch (IOException e) {
            throw new IOException(
                    "the local DynamoDB server needs Node.js and npm (not found: " + e.getMessage()
                            + "); install Node.js 18 or newer, or set mqtt-dynamo.local-dynamodb.enabled=false and"
                            + " quarkus.dynamodb.endpoint-override to a DynamoDB endpoint",
                    e);
        }
        if (install.waitFor() != 0) {
            throw new IOException("'npm ci' in " + packageDir + " failed with code " + install.exitValue());
        }
    }

    private static String node() {
        return System.getProperty("os.name").toLowerCase().contains("win") ? "node.exe" : "node";
    }
}
