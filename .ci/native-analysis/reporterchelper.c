/*
 * The image builder's progress-reporter helper (com.oracle.svm.hosted.ProgressReporterCHelper),
 * which a GraalVM distribution ships as <java.home>/lib/svm/builder/lib/libreporterchelper.so and
 * Maven Central does not: the builder's peak RSS (for its build statistics) and the terminal's width
 * (for its progress output).
 */
#include <jni.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

JNIEXPORT jlong JNICALL Java_com_oracle_svm_hosted_ProgressReporterCHelper_getPeakRSS0(JNIEnv *env, jclass clazz) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) {
        return -1;
    }
    return (jlong) usage.ru_maxrss * 1024; /* kilobytes on Linux */
}

JNIEXPORT jint JNICALL Java_com_oracle_svm_hosted_ProgressReporterCHelper_getTerminalWindowColumns0(JNIEnv *env, jclass clazz) {
    struct winsize w;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) != 0) {
        return 0;
    }
    return w.ws_col;
}
