using System.Runtime.InteropServices;
using Harness.Onnx.Cuda;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Tests.Cuda;

/// <summary>
/// The device-buffer code against a fake CUDA runtime (fake-cudart.c, built with the tests): its
/// "device" memory is host memory it keeps track of, so the tests can read what an upload put there
/// and the fake refuses copies in the wrong direction and counts leaks.
/// </summary>
[Collection(FakeCudaRuntime.Collection)]
public sealed class TransferBlockTests
{
    private static readonly IntPtr Fake = FakeCudaRuntime.Load();

    [Fact]
    public void Upload_and_download_move_the_block_between_host_and_device_memory()
    {
        int live = LiveBlocks();
        using (var block = new TransferBlock(cuda: true, deviceId: 0, 3 * sizeof(long), 5 * sizeof(int)))
        {
            Assert.Equal(live + 2, LiveBlocks());
            new long[] { 7, 8, 9 }.CopyTo(block.Host<long>(0));
            block.Host<int>(1).Fill(4);
            OrtValue ids = block.Tensor(0, TensorElementType.Int64, 1, 3);
            OrtValue lens = block.Tensor(1, TensorElementType.Int32, 5);
            Assert.Equal("Cuda", ids.GetTensorMemoryInfo().Name);

            // Before the upload the device side is still zero; after it, it holds the host values.
            Assert.Equal([0L, 0, 0], ids.GetTensorDataAsSpan<long>().ToArray());
            block.Upload();
            Assert.Equal([7L, 8, 9], ids.GetTensorDataAsSpan<long>().ToArray());
            Assert.Equal([4, 4, 4, 4, 4], lens.GetTensorDataAsSpan<int>().ToArray());

            // What the "session" writes on the device reaches the host for the downloaded segment only.
            new long[] { 1, 2, 3 }.CopyTo(ids.GetTensorMutableDataAsSpan<long>());
            lens.GetTensorMutableDataAsSpan<int>().Fill(6);
            block.Download(0);
            Assert.Equal([1L, 2, 3], block.Host<long>(0).ToArray());
            Assert.Equal([4, 4, 4, 4, 4], block.Host<int>(1).ToArray());
            Assert.Equal(0, FakeDevice());
        }

        Assert.Equal(live, LiveBlocks());
    }

    [Fact]
    public void A_failing_runtime_call_is_one_sentence_and_leaks_nothing()
    {
        int live = LiveBlocks();
        var e = Assert.Throws<HarnessException>(() => new TransferBlock(cuda: true, deviceId: 42, 64));
        Assert.Equal("cudaSetDevice failed: invalid device ordinal.", e.Message);
        Assert.Equal(live, LiveBlocks());
    }

    [Fact]
    public void On_the_cpu_the_tensors_are_the_host_block_itself()
    {
        using var block = new TransferBlock(cuda: false, deviceId: 0, 2 * sizeof(long));
        OrtValue v = block.Tensor(0, TensorElementType.Int64, 2);
        new long[] { 5, 6 }.CopyTo(block.Host<long>(0));
        Assert.Equal([5L, 6], v.GetTensorDataAsSpan<long>().ToArray());
        int copies = Copies();
        block.Upload();
        block.Download(0);
        Assert.Equal(copies, Copies());
    }

    [Fact]
    public void Device_copy_falls_back_to_the_runtime_when_onnx_runtime_has_no_data_transfer()
    {
        using var block = new TransferBlock(cuda: true, deviceId: 0, 4 * sizeof(float));
        OrtValue device = block.Tensor(0, TensorElementType.Float, 4);
        using OrtValue host = OrtValue.CreateTensorValueFromMemory(new float[] { 1, 2, 3, 4 }, [4]);
        int copies = Copies();
        DeviceCopy.ToDevice([host], [device]);
        Assert.Equal(copies + 1, Copies());
        Assert.Equal([1f, 2, 3, 4], device.GetTensorDataAsSpan<float>().ToArray());
    }

    private static unsafe int LiveBlocks() => ((delegate* unmanaged<int>)NativeLibrary.GetExport(Fake, "fake_live_blocks"))();

    private static unsafe int Copies() => ((delegate* unmanaged<int>)NativeLibrary.GetExport(Fake, "fake_copies"))();

    private static unsafe int FakeDevice() => ((delegate* unmanaged<int>)NativeLibrary.GetExport(Fake, "fake_device"))();
}
