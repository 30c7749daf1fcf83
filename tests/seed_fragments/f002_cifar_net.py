# seeds/002, 六、1 (1) 图像分类: the CIFAR-10 CNN (code example, PyTorch)
import torch
import torch.nn as nn
import torch.optim as optim
# CHANGED: `import torchvision` and `import torchvision.transforms as transforms` removed, and the
# CIFAR10 download + DataLoaders (num_workers=2) replaced: torchvision is not installed here and
# nothing can be downloaded. The test passes trainloader/testloader over tujie's CIFAR-10 (or
# synthetic 3x32x32 tensors) normalised as transforms.Normalize((0.5,)*3, (0.5,)*3) would.

# 定义CNN模型
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        # 第一层卷积,输入通道3,输出通道6,卷积核大小5
        self.conv1 = nn.Conv2d(3, 6, 5)
        # 第二层卷积,输入通道6,输出通道16,卷积核大小5
        self.conv2 = nn.Conv2d(6, 16, 5)
        # 全连接层
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 输入特征数16*5*5,输出120
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)  # CIFAR-10有10个类别
    def forward(self, x):
        x = nn.functional.relu(self.conv1(x))     # 卷积层1 + 激活函数
        x = nn.functional.max_pool2d(x, 2)        # 池化层1
        x = nn.functional.relu(self.conv2(x))     # 卷积层2 + 激活函数
        x = nn.functional.max_pool2d(x, 2)        # 池化层2
        x = x.view(-1, 16 * 5 * 5)                # 展平
        x = nn.functional.relu(self.fc1(x))       # 全连接层1 + 激活函数
        x = nn.functional.relu(self.fc2(x))       # 全连接层2 + 激活函数
        x = self.fc3(x)                           # 输出层
        return x
net = Net()

# 定义损失函数和优化器
criterion = nn.CrossEntropyLoss()  # 交叉熵损失函数
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

# 训练模型
# CHANGED: `range(5)` becomes `range(epochs)`, passed by the test (1 in the test, 5 in the bench).
for epoch in range(epochs):  # 训练5个epoch
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data  # 获取输入数据和对应的标签
        optimizer.zero_grad()   # 梯度清零
        outputs = net(inputs)   # 前向传播
        loss = criterion(outputs, labels)  # 计算损失
        loss.backward()         # 反向传播
        optimizer.step()        # 参数更新
        running_loss += loss.item()
        if i % 100 == 99:       # 每100个批次打印一次loss
            print('[%d, %5d] loss: %.3f' % (epoch + 1, i + 1, running_loss / 100))
            running_loss = 0.0
print('训练完成')

# 测试模型
correct = 0
total = 0
with torch.no_grad():  # 在测试过程中不需要计算梯度
    for data in testloader:
        images, labels = data
        outputs = net(images)
        _, predicted = torch.max(outputs.data, 1)  # 获取预测结果
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
print('在10000张测试图片上的准确率为:%d %%' % (100 * correct / total))
