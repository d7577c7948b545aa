package io.mqttdynamo.store.local;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A local DynamoDB-compatible server (dynalite, the npm package pinned in {@code local-dynamodb/}) run
 * as a child process with the machine's Node.js, for dev mode and the tests. Installs the package with
 * npm on first use.
 */
public final class DynaliteServer implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    /**
     * Servers still running, stopped by one JVM shutdown hook if the JVM ends before they are closed. One
     * hook for all: dev mode starts a server on every restart, and a hook per server would pile up.
     */
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();
    private static final AtomicBoolean HOOK_REGISTERED = new AtomicBoolean();

    private final Process process;
    private final String endpoint;

    private DynaliteServer(Process process, String endpoint) {
        this.process = process;
        this.endpoint = endpoint;
    }

    /**
     * Starts the server on {@code host:port} and waits until it answers.
     *
     * @param packageDir the folder with dynalite's package.json
     * @param dataPath where to keep the data; in memory when empty
     */
    public static DynaliteServer start(Path packageDir, String host, int port, Optional<Path> dataPath)
            throws IOException, InterruptedException {
        Path cli = packageDir.resolve("node_modules/dynalite/cli.js");
        if (!Files.exists(cli)) {
            install(packageDir);
        }
        List<String> command = new ArrayList<>(List.of(node(), cli.toString(), "--host", host, "--port",
                Integer.toString(port), "--createTableMs", "20", "--deleteTableMs", "20", "--updateTableMs", "20"));
        if (dataPath.isPresent()) {
            Files.createDirectories(dataPath.get());
            command.add("--path");
            command.add(dataPath.get().toString());
        }
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        stopOnExit(process);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!answers(host, port)) {
            if (!process.isAlive()) {
                throw new IOException("the local DynamoDB server (dynalite) exited with code " + process.exitValue()
                        + "; is port " + port + " free? Set mqtt-dynamo.local-dynamodb.port to another one");
            }
            if (System.nanoTime() > deadline) {
                process.destroyForcibly();
                RUNNING.remove(process);
                throw new IOException("the local DynamoDB server (dynalite) did not answer on " + host + ":" + port
                        + " within " + START_TIMEOUT.toSeconds() + " s");
            }
            process.waitFor(50, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        return new DynaliteServer(process, "http://" + host + ":" + port);
    }

    /** The endpoint URL for the DynamoDB client. */
    public String endpoint() {
        return endpoint;
    }

    /** Servers the shutdown hook would stop: started and not closed yet. */
    static int runningCount() {
        return RUNNING.size();
    }

    private static void stopOnExit(Process process) {
        RUNNING.add(process);
        if (HOOK_REGISTERED.compareAndSet(false, true)) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroy), "dynalite-stop"));
        }
    }

    @Override
    public void close() {
        RUNNING.remove(process);
        process.destroy();
        try {
            if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
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
            throw new IOException("the local DynamoDB server needs Node.js and npm (not found: " + e.getMessage()
                    + "); install Node.js 18 or newer, or set mqtt-dynamo.local-dynamodb.enabled=false and"
                    + " quarkus.dynamodb.endpoint-override to a DynamoDB endpoint", e);
        }
        if (install.waitFor() != 0) {
            throw new IOException("'npm ci' in " + packageDir + " failed with code " + install.exitValue());
        }
    }

    private static String node() {
        return System.getProperty("os.name").toLowerCase().contains("win") ? "node.exe" : "node";
    }
}
