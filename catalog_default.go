package modelreg

// DefaultCatalog returns the catalog a server uses without --catalog: the
// engines and runtimes of the ModelArts runtime API's sample (plus the
// python runtimes of the import samples and of the engines it leaves out),
// the flavors of the specification API's samples, and no dedicated pool.
func DefaultCatalog() *Catalog {
	cpu := Accelerator{Type: "none"}
	gpu := Accelerator{Type: "gpu", CUDAVersion: "cuda 10.2"}
	rt := func(name string, acc Accelerator, arch, src string) Runtime {
		return Runtime{Runtime: name, Accelerator: acc, Arch: arch, ImageSource: src}
	}
	python := func() []Runtime {
		return []Runtime{rt("python2.7", cpu, "x86_64", "base_image"), rt("python3.6", cpu, "x86_64", "base_image"), rt("python3.7", cpu, "x86_64", "base_image")}
	}
	async := rt("tf1.13-python3.7-gpu-async", gpu, "x86_64", "base_image")
	async.RequestMode = "async"
	c := &Catalog{
		Engines: []Engine{
			{AIEngine: "TensorFlow", Runtimes: []Runtime{
				rt("python2.7", cpu, "x86_64", "base_image"),
				rt("python3.6", cpu, "x86_64", "base_image"),
				rt("python3.7", cpu, "x86_64", "base_image"),
				rt("tf1.13-python3.6-cpu", cpu, "x86_64", "base_image"),
				rt("tf1.13-python3.6-gpu", gpu, "x86_64", "base_image"),
				rt("tf1.13-python3.7-cpu", cpu, "x86_64", "base_image"),
				rt("tf1.13-python3.7-gpu", gpu, "x86_64", "base_image"),
				rt("tf1.13-python3.7-aiflow-gpu", gpu, "x86_64", "base_image"),
				async,
				rt("tf1.15-aarch64-c75-d910", Accelerator{Type: "npu", Name: "D910"}, "aarch64", "base_image"),
				rt("tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64", cpu, "x86_64", "uniform_image"),
				rt("tensorflow_2.6.0-cuda_11.2-py_3.7-ubuntu_18.04-x86_64", cpu, "x86_64", "uniform_image"),
				rt("tensorflow_1.15.5-cuda_11.4-py_3.8-ubuntu_20.04-x86_64", cpu, "x86_64", "uniform_image"),
			}},
			{AIEngine: "PyTorch", Runtimes: []Runtime{
				rt("python3.6", cpu, "x86_64", "base_image"),
				rt("python3.7", cpu, "x86_64", "base_image"),
				rt("pytorch1.4-python3.7", cpu, "x86_64", "base_image"),
				rt("pytorch_1.11.0-cann_7.0.1-py_3.9-euler_2.10.7-aarch64-snt9b", Accelerator{Type: "npu", Name: "SNT9", DriverVersionSection: "C8x"}, "aarch64", "uniform_image"),
				rt("pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64", cpu, "x86_64", "uniform_image"),
				rt("pytorch_1.8.2-cuda_11.1-py_3.7-ubuntu_18.04-x86_64", cpu, "x86_64", "uniform_image"),
			}},
			{AIEngine: "MindSpore", Runtimes: []Runtime{
				rt("mindspore_1.9.0-cann_6.0.1-py_3.7-euler_2.9.9-x86_64-snt3p-300i", cpu, "x86_64", "uniform_image"),
				rt("mindspore_1.7.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64", cpu, "x86_64", "uniform_image"),
				rt("mindspore_1.2.0-py_3.7-cuda_10.1-ubuntu_18.04-x86_64", cpu, "x86_64", "uniform_image"),
			}},
			{AIEngine: "XGBoost", Runtimes: python()},
			{AIEngine: "Scikit_Learn", Runtimes: python()},
			{AIEngine: "Spark_MLlib", Runtimes: python()},
			{AIEngine: "Custom", Runtimes: []Runtime{}},
		},
		Flavors: []Flavor{
			{Specification: "modelarts.vm.cpu.2u", Category: "CPU",
				CPUInfo: &CPUInfo{Arch: "x86", CPU: 2}, MemoryInfo: &MemInfo{Unit: "GB", Memory: 8},
				GPUInfo: &AccInfo{Unit: "MB"}, NPUInfo: &AccInfo{Unit: "MB"},
				DisplayEN: "CPU: 2 vCPUs | 8 GiB", DisplayCN: "CPU: 2 Core 8 GiB", IsOpen: true, ExtendParams: 1},
			{Specification: "modelarts.vm.gpu.pnt004", Category: "GPU",
				CPUInfo: &CPUInfo{Arch: "x86", CPU: 8}, MemoryInfo: &MemInfo{Unit: "GB", Memory: 32},
				GPUInfo: &AccInfo{Unit: "GB", Brand: "NVIDIA", Version: "Pnt004", GPU: 1, Memory: 16}, NPUInfo: &AccInfo{Unit: "MB"},
				DisplayEN: "CPU: 8 vCPUs | 32 GiB GPU: Pnt004", DisplayCN: "CPU: 8 cores 32 GiB GPU: 1 x Pnt004", IsOpen: true, ExtendParams: 1},
			{Specification: "modelarts.vm.gpu.v100", Category: "GPU",
				IsOpen: true, ExtendParams: 1},
			{Specification: "modelarts.vm.ai1.snt3", Category: "NPU",
				CPUInfo: &CPUInfo{Arch: "x86", CPU: 2}, MemoryInfo: &MemInfo{Unit: "GB", Memory: 8},
				GPUInfo:   &AccInfo{Unit: "MB"},
				DisplayEN: "CPU: 2 vCPUs", DisplayCN: "CPU: 2 cores", ExtendParams: 1},
			{Specification: "modelarts.kat1.xlarge", Category: "NPU", IsOpen: true, ExtendParams: 1},
			{Specification: "modelarts.kat1.xlarge.al", Category: "NPU", IsOpen: true, ExtendParams: 1},
			{Specification: "modelarts.vm.cpu.8ud", Category: "CPU", IsOpen: true, ExtendParams: 1, IsPersonalCluster: true},
		},
		Clusters: []Cluster{},
	}
	if err := c.Validate(); err != nil {
		panic("modelreg: the default catalog is invalid: " + err.Error())
	}
	return c
}
